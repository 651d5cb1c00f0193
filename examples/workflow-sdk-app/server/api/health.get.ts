import { defineEventHandler } from "nitro/h3";

// GET /api/health -> {"ok": true}; used by the drivers to poll for readiness.
export default defineEventHandler(() => ({ ok: true, pid: process.pid }));
