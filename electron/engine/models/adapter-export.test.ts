import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { writeRandomModel } from '../testing/random-model.js';
import { ollamaModelName, writeAdapterExports } from './adapter-export.js';

describe('the Modelfile and how-to beside an adapter', () => {
  const at = new Date(2026, 0, 2, 3, 4);

  it('names the Ollama model in lowercase after the run and the time', () => {
    expect(ollamaModelName('/w/runs/Safety Manual v2', at)).toBe('doctune-safety-manual-v2-20260102-0304');
    // A pipeline keeps its run in <out>/run: the output folder names it.
    expect(ollamaModelName('/home/me/runs/safety/run', at)).toBe('doctune-safety-20260102-0304');
    // Nothing usable in the folder name (Chinese, symbols): the time alone.
    expect(ollamaModelName('/w/runs/治安管理', at)).toBe('doctune-20260102-0304');
    expect(ollamaModelName('/w/runs/pipeline-2026-01-02T03-04-05-678Z', at)).toBe('doctune-pipeline-20260102-0304');
  });

  it('writes the name into the Modelfile and HOWTO.md', async () => {
    const dir = path.join(tempDir('adapter-export'), 'Lockout_Run');
    fs.mkdirSync(dir);
    const adapter = path.join(dir, 'adapter-2026-01-02T03-04-05-678Z-abcd1234.gguf');
    fs.writeFileSync(adapter, '');
    const { modelfile, howto } = await writeAdapterExports(adapter, TINY_MODEL, 1, at);
    const text = fs.readFileSync(modelfile, 'utf8');
    expect(text).toMatch(/^# Ollama: ollama create doctune-lockout_run-20260102-0304 -f Modelfile && ollama run doctune-lockout_run-20260102-0304\n/);
    expect(text).toContain(`ADAPTER ${adapter}`);
    expect(fs.readFileSync(howto, 'utf8')).toContain('ollama run doctune-lockout_run-20260102-0304');
    expect(fs.readFileSync(howto, 'utf8')).not.toContain('--reasoning off');
  });

  it("asks for the non-thinking mode a hybrid reasoning model (Qwen3) was trained in", async () => {
    const dir = tempDir('adapter-export-qwen3');
    const base = await writeRandomModel(path.join(dir, 'qwen3.gguf'), TINY_MODEL, {
      arch: 'qwen3', embd: 32, ff: 64, layers: 1, heads: 4, kvHeads: 2,
      chatTemplate: "{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\\n\\n</think>\\n\\n' -}}{%- endif -%}",
    });
    const adapter = path.join(dir, 'adapter.gguf');
    fs.writeFileSync(adapter, '');
    const { modelfile, howto } = await writeAdapterExports(adapter, base.path, 1, at);
    const text = fs.readFileSync(howto, 'utf8');
    expect(text).toContain(`llama-server -m "${base.path}" --lora "${adapter}" --port 8080 --reasoning off`);
    expect(text).toContain(`--think=false`);
    expect(fs.readFileSync(modelfile, 'utf8')).toContain('--think=false');
  });
});
