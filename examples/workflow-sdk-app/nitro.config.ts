import { defineConfig } from "nitro";

// The `workflow/nitro` module compiles the "use workflow" / "use step"
// directives in ./workflows and mounts /.well-known/workflow/v1/{flow,step}.
export default defineConfig({
  serverDir: "./server",
  modules: ["workflow/nitro"],
});
