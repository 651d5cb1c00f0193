import { defineEventHandler, HTTPError } from "nitro/h3";
import { resumeHook } from "workflow/api";

// POST /api/resume-hook  {"token": "approval:doc1", "payload": {"approved": true}}  ->  {"runId": "wrun_..."}
export default defineEventHandler(async ({ req }) => {
  const body = (await req.json().catch(() => ({}))) as { token?: string; payload?: unknown };
  if (typeof body.token !== "string") {
    throw new HTTPError({ status: 400, message: "token (string) is required" });
  }
  try {
    const hook = await resumeHook(body.token, body.payload ?? null);
    return { runId: hook.runId, hookId: hook.hookId };
  } catch (error) {
    throw new HTTPError({ status: 404, message: `hook not resumed: ${String((error as Error)?.message ?? error)}` });
  }
});
