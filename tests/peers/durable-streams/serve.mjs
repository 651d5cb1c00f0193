// Test launcher for the Durable Streams reference server (wfctl tests only).
//
// Usage: node serve.mjs [--host 127.0.0.1] [--port 0] [--long-poll-timeout 500]
//
// Prints one JSON line on stdout once listening: {"url": "http://127.0.0.1:PORT", "pid": N}
// Exits on SIGTERM/SIGINT, and also when stdin reaches EOF, so a server started by a test
// process that died without cleaning up does not outlive it.
import { DurableStreamTestServer } from "@durable-streams/server";

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg("--host", "127.0.0.1");
const port = Number(arg("--port", "0"));
const longPollTimeout = Number(arg("--long-poll-timeout", "500"));

const server = new DurableStreamTestServer({ host, port, longPollTimeout });
const url = await server.start();
process.stdout.write(JSON.stringify({ url, pid: process.pid }) + "\n");

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(code), 2000);
  timer.unref();
  try {
    await server.stop();
  } finally {
    process.exit(code);
  }
}

process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));
if (process.argv.includes("--watch-stdin")) {
  process.stdin.on("end", () => shutdown(0));
  process.stdin.on("error", () => shutdown(0));
  process.stdin.resume();
}
