import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_ARGS } from '../testing/cli.js';
import { corpusFile, REPO_ROOT, tempDir, TINY_MODEL } from '../testing/corpus.js';

interface Run { code: number | null; stdout: string; stderr: string }

/**
 * The CLI from source in its own process group, as a terminal runs a foreground job: Ctrl-C there signals
 * every process of the group, so `ctrlC` does the same (a negative pid is the group).
 */
function doctune(args: string[], interruptWhen?: (stderr: string) => boolean): Promise<Run> {
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
    cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GGML_NO_BACKTRACE: '1' },
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!sent && interruptWhen?.(stderr)) {
      sent = true;
      process.kill(-child.pid!, 'SIGINT');
    }
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const lastStep = (text: string): number => Math.max(...[...text.matchAll(/step (\d+)\//g)].map((m) => Number(m[1])));

describe('Ctrl-C in a terminal', () => {
  it('stops `train` at a step boundary with a checkpoint, and --resume continues from that step', async () => {
    const dir = tempDir('ctrl-c-train');
    const data = path.join(dir, 'data.jsonl');
    const pairs = Array.from({ length: 8 }, (_, i) => ({ messages: [{ role: 'user', content: `What is rule ${i}?` }, { role: 'assistant', content: `Rule ${i} says lock out the machine before service.` }] }));
    fs.writeFileSync(data, pairs.map((p) => JSON.stringify(p)).join('\n'));
    const out = path.join(dir, 'run');
    // No periodic checkpoint before the end: whatever is saved comes from the stop itself.
    const args = ['train', '-m', TINY_MODEL, '--data', data, '-o', out, '--epochs', '200', '--batch', '2', '--threads', '1', '--checkpoint-every', '100000'];
    const stopped = await doctune(args, (err) => lastStep(err) >= 5);
    expect(stopped.code, stopped.stderr).toBe(130);
    const at = lastStep(stopped.stderr);
    expect(stopped.stderr).toMatch(new RegExp(`training stopped at step ${at}; resume with --resume`));
    expect(fs.existsSync(path.join(out, 'checkpoint.bin'))).toBe(true);

    const resumed = await doctune([...args, '--resume', out], (err) => lastStep(err) >= at + 2);
    expect(resumed.stderr).toMatch(new RegExp(`resuming at step ${at}\\b`));
    expect(resumed.code).toBe(130);
  }, 240_000);

  it('stops `pipeline` during training, saying where, and the same command continues from that step', async () => {
    const out = tempDir('ctrl-c-pipeline');
    const args = ['pipeline', corpusFile('osha_factsheet_lockout_tagout.pdf'), '-m', TINY_MODEL, '-o', out, '--epochs', '40', '--threads', '1'];
    const stopped = await doctune(args, (err) => lastStep(err) >= 4);
    expect(stopped.code, stopped.stderr).toBe(130);
    const at = lastStep(stopped.stderr);
    const total = Number(/step \d+\/(\d+)/.exec(stopped.stderr)![1]);
    expect(stopped.stderr).toContain(`stopped at step ${at} of ${total}, saved; run the same command again to continue from there`);
    expect(stopped.stderr).not.toMatch(/--resume/);

    const again = await doctune(args, (err) => lastStep(err) >= at + 1);
    expect(again.stderr).toContain('== train\n');
    expect(again.stderr).toContain(`resuming at step ${at} of ${total}`);
    expect(again.code).toBe(130);
  }, 300_000);
});
