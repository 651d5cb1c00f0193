// The oracle: what the official SDK (@flue/sdk 1.0.0-beta.9) reads of one run.
//   node sdk-read.mjs <baseUrl> <runId> [offset]     (token: FLUE_PEER_TOKEN)
// prints {"record": runs.get(runId), "events": runs.events(runId, {offset})} as one JSON document.
import { createFlueClient } from '@flue/sdk';

const [baseUrl, runId, offset = '-1'] = process.argv.slice(2);
const client = createFlueClient({ baseUrl, token: process.env.FLUE_PEER_TOKEN });
const record = await client.runs.get(runId);
const events = await client.runs.events(runId, { offset });
process.stdout.write(JSON.stringify({ record, events }) + '\n');
