// `ticker`: emits `n` log events ("tick <i>", attributes {i}), `delayMs` apart (0: no wait at all), optionally
// holds at a gate, then returns {ticks: n} or, with `fail`, throws "requested failure".
//
// The gate lets tests keep a run active for exactly as long as they need, with no timing guess: with
// `gate: "/some/file"` the run stops before tick `gateAt` (default n) until that file exists, and fails with
// "gate never opened" after `gateTimeoutMs` (default 60 s) so a failed test never leaves a run hanging.
//
// No model is ever called: the agent must declare a model string (required since 1.0.0-beta.8), but run()
// never prompts it, so the server needs no LLM key and no network.
import { existsSync } from 'node:fs';
import { defineAgent, defineWorkflow } from '@flue/runtime';
import type { WorkflowRouteHandler, WorkflowRunsHandler } from '@flue/runtime';
import * as v from 'valibot';
import { requireToken } from '../auth.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export default defineWorkflow({
  agent: defineAgent(() => ({ model: 'anthropic/claude-haiku-4-5' })),
  input: v.object({
    n: v.number(),
    delayMs: v.optional(v.number(), 200),
    fail: v.optional(v.boolean(), false),
    gate: v.optional(v.string()),
    gateAt: v.optional(v.number()),
    gateTimeoutMs: v.optional(v.number(), 60_000),
  }),
  async run({ input, log }) {
    const gateAt = input.gateAt ?? input.n;
    for (let i = 0; i <= input.n; i++) {
      if (input.gate !== undefined && i === gateAt) {
        const deadline = Date.now() + input.gateTimeoutMs;
        while (!existsSync(input.gate)) {
          if (Date.now() > deadline) throw new Error('gate never opened');
          await sleep(20);
        }
      }
      if (i === input.n) break;
      log.info(`tick ${i}`, { i });
      if (input.delayMs > 0) await sleep(input.delayMs);
    }
    if (input.fail) throw new Error('requested failure');
    return { ticks: input.n };
  },
});

export const route: WorkflowRouteHandler = requireToken;
export const runs: WorkflowRunsHandler = requireToken;
