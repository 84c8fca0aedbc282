import { runCli } from './main.js';

// GGML_NO_BACKTRACE keeps a native abort from forking gdb; set before node-llama-cpp loads.
process.env.GGML_NO_BACKTRACE ??= '1';
const code = await runCli(process.argv.slice(2));
process.exit(code);
