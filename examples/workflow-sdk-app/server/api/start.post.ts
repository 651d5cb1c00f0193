import { defineEventHandler, HTTPError } from "nitro/h3";
import { start } from "workflow/api";
import {
  approvalWorkflow,
  demoWorkflow,
  failingWorkflow,
  flakyWorkflow,
  logsWorkflow,
  tickerWorkflow,
} from "../../workflows/demo";

const WORKFLOWS: Record<string, (...args: any[]) => Promise<unknown>> = {
  demoWorkflow,
  approvalWorkflow,
  failingWorkflow,
  flakyWorkflow,
  tickerWorkflow,
  logsWorkflow,
};

// POST /api/start  {"workflow": "demoWorkflow", "args": ["Ada", "1h"]}  ->  {"runId": "wrun_..."}
export default defineEventHandler(async ({ req }) => {
  const body = (await req.json().catch(() => ({}))) as { workflow?: string; args?: unknown[] };
  const fn = body.workflow ? WORKFLOWS[body.workflow] : undefined;
  if (!fn) {
    throw new HTTPError({
      status: 400,
      message: `unknown workflow ${JSON.stringify(body.workflow)}; known: ${Object.keys(WORKFLOWS).join(", ")}`,
    });
  }
  const args = Array.isArray(body.args) ? body.args : [];
  const run = await start(fn, args);
  return { runId: run.runId, workflow: body.workflow };
});
