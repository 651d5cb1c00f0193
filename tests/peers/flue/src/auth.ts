// Bearer-token middleware for the ticker's `route` (POST /workflows/ticker) and `runs` (every request on its
// runs: GET, HEAD, ?meta). The token comes from FLUE_PEER_TOKEN at request time (default "test-token").
import type { WorkflowRouteHandler } from '@flue/runtime';

export const requireToken: WorkflowRouteHandler = async (c, next) => {
  const token = process.env.FLUE_PEER_TOKEN || 'test-token';
  if (c.req.header('authorization') !== `Bearer ${token}`) {
    return c.json({ error: { type: 'unauthorized', message: 'missing or bad token' } }, 401);
  }
  await next();
};
