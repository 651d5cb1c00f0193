import { definePlugin } from "nitro";
import { getWorld } from "workflow/runtime";

// Start the World at server boot. Required for the Postgres world (it starts
// the graphile-worker queue). On the local world in a bundled build this
// fails with `Invalid version string: "bundled"`; runs still execute, there
// is just no version.txt and no recovery of active runs, so log and go on.
export default definePlugin(() => {
  Promise.resolve()
    .then(() => getWorld().start?.())
    .then(
      () => console.log("[start-world] world started"),
      (error) => console.warn(`[start-world] world.start() failed (ignored): ${error?.message ?? error}`),
    );
});
