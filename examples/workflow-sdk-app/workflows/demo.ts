// Fixture workflows for wfctl. Each one exercises a different part of the
// local world's on-disk format (steps, sleeps/waits, hooks, streams, errors).
import { FatalError, RetryableError, createHook, getStepMetadata, getWritable, sleep } from "workflow";

type Duration = Parameters<typeof sleep>[0];

// ---------------------------------------------------------------------------
// demoWorkflow: step -> sleep -> step. With sleepFor = "1h" the run stays
// "running" with one pending wait (the thing `wfctl wake` interrupts).
// ---------------------------------------------------------------------------
export async function demoWorkflow(name: string, sleepFor: Duration = "1h") {
  "use workflow";
  const hello = await greet(name);
  await sleep(sleepFor);
  return await finish(hello.greeting);
}

async function greet(name: string) {
  "use step";
  const writer = getWritable<string>().getWriter();
  await writer.write(`hello ${name}`);
  await writer.write(`second chunk for ${name}`);
  writer.releaseLock();
  return { greeting: `Hello, ${name}!`, at: new Date().toISOString() };
}

async function finish(greeting: string) {
  "use step";
  const writer = getWritable<string>().getWriter();
  await writer.write(`done: ${greeting}`);
  writer.releaseLock();
  return { greeting, length: greeting.length };
}

// ---------------------------------------------------------------------------
// approvalWorkflow: suspends on a hook with a deterministic token so tests
// can resume it through POST /api/resume-hook.
// ---------------------------------------------------------------------------
type Approval = { approved: boolean; by?: string; comment?: string };

export async function approvalWorkflow(doc: string) {
  "use workflow";
  const hook = createHook<Approval>({ token: `approval:${doc}` });
  const decision = await hook;
  return await recordDecision(doc, decision);
}

async function recordDecision(doc: string, decision: Approval) {
  "use step";
  const verdict = decision?.approved ? "approved" : "rejected";
  return decision?.by ? `${doc}: ${verdict} by ${decision.by}` : `${doc}: ${verdict}`;
}

// ---------------------------------------------------------------------------
// failingWorkflow: a step throws FatalError (no retries) -> run "failed",
// error.code USER_ERROR.
// ---------------------------------------------------------------------------
export async function failingWorkflow(input: string = "bad input") {
  "use workflow";
  await validate(input);
  return "unreachable";
}

async function validate(input: string) {
  "use step";
  throw new FatalError(`boom: ${input}`);
}

// ---------------------------------------------------------------------------
// tickerWorkflow: writes `n` chunks to the default stream, one step per
// chunk, separated by sleep(intervalMs), so a live tail sees chunks arrive
// over time. With close = true the stream gets an EOF chunk at the end;
// otherwise it stays open after the run completes (vercel/workflow#964).
// ---------------------------------------------------------------------------
export async function tickerWorkflow(n: number = 5, intervalMs: number = 500, close: boolean = false) {
  "use workflow";
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0) await sleep(intervalMs);
    total += await tick(i, n);
  }
  if (close) await closeDefaultStream();
  return { ticks: total };
}

async function tick(i: number, n: number) {
  "use step";
  const writer = getWritable<{ tick: number; of: number; at: string }>().getWriter();
  await writer.write({ tick: i, of: n, at: new Date().toISOString() });
  writer.releaseLock();
  return 1;
}

async function closeDefaultStream() {
  "use step";
  await getWritable().close();
}

// ---------------------------------------------------------------------------
// logsWorkflow: writes to the default stream and to a namespaced stream
// ("logs"), then closes only the "logs" stream.
// ---------------------------------------------------------------------------
export async function logsWorkflow(job: string) {
  "use workflow";
  await writeOutput(job);
  await writeLogs(job);
  await closeLogs();
  return { job, logLines: 3 };
}

async function writeOutput(job: string) {
  "use step";
  const writer = getWritable<string>().getWriter();
  await writer.write(`output of ${job}`);
  writer.releaseLock();
}

async function writeLogs(job: string) {
  "use step";
  const writer = getWritable<{ level: string; message: string }>({ namespace: "logs" }).getWriter();
  await writer.write({ level: "info", message: `${job} started` });
  await writer.write({ level: "warn", message: `${job} is slow` });
  await writer.write({ level: "info", message: `${job} finished` });
  writer.releaseLock();
}

async function closeLogs() {
  "use step";
  await getWritable({ namespace: "logs" }).close();
}

// ---------------------------------------------------------------------------
// flakyWorkflow: a step fails `failTimes` times with a RetryableError (short
// retryAfter) and then succeeds -> step_retrying events, attempt > 1, and a
// completed step record that still carries the last attempt's error.
// ---------------------------------------------------------------------------
export async function flakyWorkflow(failTimes: number = 1) {
  "use workflow";
  return await flaky(failTimes);
}

async function flaky(failTimes: number) {
  "use step";
  const { attempt } = getStepMetadata();
  if (attempt <= failTimes) {
    throw new RetryableError(`transient failure on attempt ${attempt}`, { retryAfter: 500 });
  }
  return { attempt };
}
