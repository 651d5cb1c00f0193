// Drives the OFFICIAL Vercel world client (@workflow/world-vercel, from an example app's node_modules) against
// a Vercel workflow API at a given URL (in the tests: the contract fake, tests/doubles/vercel_world.py).
//
//   WFCTL_WORKFLOW_APP=examples/workflow-sdk-app node drive.mjs < job.json
//
// job.json: {"url": "<base URL, e.g. http://127.0.0.1:PORT/v1/workflow>", "token": "...", "project": "prj_...",
//            "team": "team_...", "environment": "production", "ops": [{"call": "runs.get", "args": [...]}, ...]}
//
// Each op calls one method of the World createVercelWorld() returns ("events.create", "runs.list",
// "writeToStream", "readFromStream", ...) with `args` (in order). In args and results, bytes are
// {"$bytes": "<base64>"}, dates {"$date": "<ISO>"}, undefined {"$undefined": true}. A ReadableStream result (the
// live stream read) is drained into {"$chunks": [<bytes>...]}; "readLimit": N cancels it after N chunks. Ops run
// in order; one failing does not stop the others. Prints one JSON document:
//   {"package": {"name", "version"}, "results": [{"ok": true, "value": ...} | {"ok": false, "error": {...}}],
//    "blocked": ["host:port", ...]}
// "blocked" lists every connection the client tried to open anywhere but the API's loopback host and port: they
// are refused (the client must never reach api.vercel.com or vercel-workflow.com from the tests).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const blocked = [];
let allowedPort; // the API's port, once the job is read: every other connection is refused

function guard(name, original) {
  return function guarded(...args) {
    let host;
    let port;
    const first = args[0];
    if (first && typeof first === 'object') {
      host = first.host ?? first.hostname ?? (first.path ? 'unix' : 'localhost');
      port = first.port;
    } else if (typeof first === 'number' || typeof first === 'string') {
      port = first;
      host = typeof args[1] === 'string' ? args[1] : 'localhost';
    }
    if (host !== 'unix' && !(LOOPBACK.has(String(host)) && (allowedPort === undefined || String(port) === allowedPort))) {
      blocked.push(`${host}:${port}`);
      throw new Error(`drive.mjs: ${name} to ${host}:${port} refused (loopback only)`);
    }
    return original.apply(this, args);
  };
}
net.connect = guard('net.connect', net.connect);
net.createConnection = guard('net.createConnection', net.createConnection);
tls.connect = guard('tls.connect', tls.connect);

function readStdin() {
  return new Promise((resolve, reject) => {
    const parts = [];
    process.stdin.on('data', (d) => parts.push(d));
    process.stdin.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function fromJson(value) {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value && typeof value === 'object') {
    if (typeof value.$bytes === 'string') return new Uint8Array(Buffer.from(value.$bytes, 'base64'));
    if (typeof value.$date === 'string') return new Date(value.$date);
    if (value.$undefined === true) return undefined;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJson(v)]));
  }
  return value;
}

function toJson(value) {
  if (value === undefined) return { $undefined: true };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString() };
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = toJson(v);
    }
    return out;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function errorJson(err) {
  const out = { name: err?.name, message: String(err?.message ?? err) };
  for (const key of ['status', 'code', 'retryAfter', 'url']) {
    if (err && err[key] !== undefined) out[key] = err[key];
  }
  if (err?.cause) out.cause = String(err.cause?.message ?? err.cause);
  return out;
}

async function drain(stream, limit) {
  const reader = stream.getReader();
  const chunks = [];
  while (limit === undefined || chunks.length < limit) {
    const { done, value } = await reader.read();
    if (done) return { $chunks: chunks.map(toJson), done: true };
    chunks.push(value);
  }
  await reader.cancel('drive.mjs: read limit reached').catch(() => {});
  return { $chunks: chunks.map(toJson), done: false };
}

async function main() {
  const job = JSON.parse(await readStdin());
  const api = new URL(job.url);
  if (!LOOPBACK.has(api.hostname)) throw new Error(`drive.mjs: the API URL must be on loopback, got ${job.url}`);
  allowedPort = api.port || (api.protocol === 'https:' ? '443' : '80');
  const appDir = path.resolve(process.env.WFCTL_WORKFLOW_APP ?? job.app ?? '.');
  const require = createRequire(path.join(appDir, 'package.json'));
  const entry = require.resolve('@workflow/world-vercel');
  const pkg = JSON.parse(readFileSync(path.join(entry.slice(0, entry.lastIndexOf('/dist/')), 'package.json'), 'utf8'));
  const { createVercelWorld } = await import(pathToFileURL(entry).href);

  // The proxy URL (used because project and team are known) and the direct workflow-server URL both point at
  // the API under test: no request may leave for a real Vercel host.
  process.env.WORKFLOW_VERCEL_BACKEND_URL = job.url;
  process.env.VERCEL_WORKFLOW_SERVER_URL = job.url;
  const world = createVercelWorld({
    token: job.token,
    projectConfig: { projectId: job.project, teamId: job.team, environment: job.environment ?? 'production' },
  });

  const results = [];
  for (const op of job.ops) {
    try {
      const [area, method] = op.call.includes('.') ? op.call.split('.') : [null, op.call];
      const target = area ? world[area] : world;
      if (!target || typeof target[method] !== 'function') throw new Error(`no such World method ${op.call}`);
      let value = await target[method](...fromJson(op.args ?? []));
      if (value instanceof ReadableStream) value = await drain(value, op.readLimit);
      else value = toJson(value);
      results.push({ ok: true, value });
    } catch (err) {
      results.push({ ok: false, error: errorJson(err) });
    }
  }
  process.stdout.write(`${JSON.stringify({ package: { name: pkg.name, version: pkg.version }, results, blocked })}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`drive.mjs: ${err?.stack ?? err}\n`);
    process.exit(1);
  }
);
