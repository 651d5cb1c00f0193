// The wfctl test peer: a Node build (dist/server.mjs) serving one workflow, `ticker`.
import { defineConfig } from '@flue/cli/config';

export default defineConfig({ target: 'node' });
