
import { stream } from "@durable-streams/client";
const [url, mode] = process.argv.slice(2);
const res = await stream({ url, offset: "-1", live: false, json: true });
let count = 0;
await new Promise((resolve, reject) => {
  res.subscribeJson((batch) => {
    count += batch.items.length;
    if (mode === "jsonl") {
      let out = "";
      for (const item of batch.items) {
        out += JSON.stringify(item) + "\n";
        if (out.length > 1 << 20) { process.stdout.write(out); out = ""; }
      }
      if (out) process.stdout.write(out);
    }
    if (batch.upToDate || batch.streamClosed) resolve();
  });
  res.closed?.catch?.(reject);
});
process.stderr.write(JSON.stringify({ count }) + "\n");
