import { runCli } from './main.js';

// GGML_NO_BACKTRACE keeps a native abort from forking gdb; set before node-llama-cpp loads.
process.env.GGML_NO_BACKTRACE ??= '1';
// A reader that stops early (`doctune dataset list | head -1`) closes the pipe: stop quietly, as other tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
const code = await runCli(process.argv.slice(2));
// Writes to a pipe are asynchronous: let them drain before leaving, or `doctune … --json | jq` gets 64 KiB.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
process.exit(code);
