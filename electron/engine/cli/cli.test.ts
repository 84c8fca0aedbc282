import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_CATALOG } from '../models/catalog.js';
import { gguf, writeGguf } from '../models/gguf/gguf-writer.js';
import { GgmlType } from '../models/gguf/gguf-types.js';
import { doctune, doctuneWith } from '../testing/cli.js';
import { corpusFile, tempDir, TINY_MODEL } from '../testing/corpus.js';

describe('doctune CLI', () => {
  const ws = tempDir('cli');

  it('ingest --json follows the contract and exits 0', () => {
    const r = doctune('ingest', corpusFile('osha_factsheet_lockout_tagout.pdf'), corpusFile('治安管理处罚法(2012-10-26).md'), '--workspace', ws, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ documents: 2, skipped: [], errors: [] });
    expect(out.chunks).toBeGreaterThan(10);
  });

  it('re-ingesting unchanged files does nothing and still exits 0', () => {
    const r = doctune('ingest', corpusFile('osha_factsheet_lockout_tagout.pdf'), '--workspace', ws, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ documents: 0, chunks: 0, unchanged: 1 });
  });

  it('docs and search print JSON with the contract fields', () => {
    const docs = JSON.parse(doctune('docs', '--workspace', ws, '--json').stdout);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toHaveProperty('chunks');
    expect(docs[0]).toHaveProperty('status', 'ready');
    const r = doctune('search', '治安管理', '--workspace', ws, '--k', '3', '--json');
    const hits = JSON.parse(r.stdout);
    expect(hits).toHaveLength(3);
    expect(Object.keys(hits[0]).sort()).toEqual(['heading', 'page', 'path', 'score', 'text', 'title']);
    expect(hits[0].text).toContain('治安管理');
    expect(hits[0].heading).toMatch(/^中华人民共和国治安管理处罚法 > 第/);
  });

  it('prints readable text without --json', () => {
    const r = doctune('search', 'lockout', '--workspace', ws, '--k', '1');
    expect(r.stdout).toMatch(/^1\. .+ — p\. \d/);
  });

  it('exits 1 when every file failed, naming the file and reason', () => {
    const bad = path.join(tempDir('cli-bad'), 'empty.pdf');
    fs.writeFileSync(bad, '');
    const r = doctune('ingest', bad, '--workspace', ws, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors).toEqual([{ path: bad, reason: 'empty file (0 bytes)' }]);
  });

  it('exits 2 on bad arguments', () => {
    expect(doctune('ingest', '--workspace', ws).code).toBe(2);
    expect(doctune('search', 'x', '--k', 'many', '--workspace', ws).code).toBe(2);
    expect(doctune('frobnicate').code).toBe(2);
  });

  it('models list shows downloaded, Ollama and LM Studio models, each trainable or not and why', async () => {
    const home = tempDir('cli-home');
    const env = { HOME: home, USERPROFILE: home, XDG_CONFIG_HOME: path.join(home, 'config'), APPDATA: path.join(home, 'appdata'), OLLAMA_MODELS: path.join(home, 'ollama') };
    const userData = process.platform === 'win32' ? path.join(env.APPDATA, 'DocTune')
      : process.platform === 'darwin' ? path.join(home, 'Library', 'Application Support', 'DocTune') : path.join(env.XDG_CONFIG_HOME, 'DocTune');
    const models = path.join(userData, 'models');
    fs.mkdirSync(models, { recursive: true });
    fs.copyFileSync(TINY_MODEL, path.join(models, 'stories260K.gguf'));
    await writeGguf(path.join(models, 'projector.gguf'), {
      metadata: [['general.architecture', gguf.str('clip')]],
      tensors: [{ name: 'v.patch_embd.weight', dims: [4, 2], type: GgmlType.F32, data: new Uint8Array(32) }],
    });
    const lm = path.join(home, '.lmstudio', 'models', 'someone', 'Tiny-GGUF');
    fs.mkdirSync(lm, { recursive: true });
    fs.copyFileSync(TINY_MODEL, path.join(lm, 'tiny-q8_0.gguf'));

    const json = doctuneWith({ env }, 'models', 'list', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).map((m: { source: string; name: string; trainable: boolean; trainableReason?: string }) => [m.source, m.name, m.trainable, m.trainableReason ?? null])).toEqual([
      ['downloaded', 'projector.gguf', false, expect.stringMatching(/^this is a vision projector \(mmproj\), not a language model/)],
      ['downloaded', 'stories260K.gguf', true, null],
      ['lmstudio', 'someone/Tiny-GGUF/tiny-q8_0.gguf', true, null],
    ]);
    const text = doctuneWith({ env }, 'models', 'list');
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^source\s+name\s+size\s+architecture\s+trainable$/);
    expect(lines[1]).toMatch(/^downloaded\s+projector\.gguf\s+0\.00 GiB\s+clip\s+no: this is a vision projector \(mmproj\)/);
    expect(lines[2]!.trim()).toBe(path.join(models, 'projector.gguf'));
    expect(lines[3]).toMatch(/^downloaded\s+stories260K\.gguf\s+0\.00 GiB\s+llama\s+yes$/);
    expect(text.stdout).toMatch(/^lmstudio\s+someone\/Tiny-GGUF\/tiny-q8_0\.gguf\s+0\.00 GiB\s+llama\s+yes$/m);
  });

  it('models recommend --json lists every catalog model with where chat and training fit, and the pick', () => {
    const r = doctune('models', 'recommend', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.hardware.ramBytes).toBe(os.totalmem());
    expect(out.catalog.map((m: { id: string }) => m.id)).toEqual(MODEL_CATALOG.map((m) => m.id));
    for (const m of out.catalog) {
      for (const p of [m.chat, m.training]) {
        expect(['gpu', 'cpu', 'none']).toContain(p.runsOn);
        expect(p.needed).toBeGreaterThan(0);
        expect(p.reason.length).toBeGreaterThan(0);
      }
    }
    if (out.recommended !== null) expect(out.catalog.find((m: { id: string }) => m.id === out.recommended).training.runsOn).not.toBe('none');
    expect(out.reason.length).toBeGreaterThan(0);
    expect(doctune('models', 'recommend', '--language', 'fr').code).toBe(2);
  });

  it('read commands refuse a workspace folder that does not exist, or is not a workspace, and create nothing', () => {
    const missing = path.join(tempDir('cli-missing'), 'typo');
    const empty = tempDir('cli-empty');
    for (const args of [['docs'], ['docs', 'show', 'x'], ['search', 'lockout'], ['config'], ['dataset', 'list'], ['dataset', 'export', '--format', 'alpaca', '--out', path.join(empty, 'x.json')],
      ['generate'], ['train', '--model', TINY_MODEL, '--out', path.join(empty, 'run')]]) {
      const r = doctune(...args, '--workspace', missing);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`no workspace at ${missing} (run \`doctune ingest`);
      expect(fs.existsSync(missing)).toBe(false);
    }
    const r = doctune('dataset', 'list', '--workspace', empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no workspace at ${empty}`);
    expect(fs.readdirSync(empty)).toEqual([]);
  });

  it('says plainly what is wrong with an argument, and exits 2', () => {
    const empty = doctune('search', '', '--workspace', ws);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/doctune: give something to search for/);
    expect(empty.stderr).not.toMatch(/Too small|expected string/);
    for (const k of ['0', '-1', '1.5']) {
      const r = doctune('search', 'lockout', '--k', k, '--workspace', ws);
      expect(r.code, `--k ${k}`).toBe(2);
      expect(r.stderr).toMatch(/--k/);
    }
    const status = doctune('dataset', 'list', '--status', 'bogus', '--workspace', ws);
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/pending \| accepted \| rejected \| edited/);
    const port = doctune('serve', '--model', TINY_MODEL, '--port', '99999');
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/port.*0–65535/);
    const chunks = doctune('ingest', corpusFile('osha_factsheet_lockout_tagout.pdf'), '--chunk-tokens', '10', '--workspace', ws);
    expect(chunks.code).toBe(2);
    expect(chunks.stderr).toMatch(/--chunk-tokens must be 32–8192/);
    const key = doctune('generate', '--teacher', 'openai:http://127.0.0.1:11434/v1#m', '--api-key-env', 'DOCTUNE_TEST_UNSET_KEY', '--workspace', ws);
    expect(key.code).toBe(2);
    expect(key.stderr).toMatch(/DOCTUNE_TEST_UNSET_KEY \(--api-key-env\) is not set/);
  });

  it('serve says so when the port is taken, before loading the model', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      const r = doctune('serve', '--model', TINY_MODEL, '--port', String(port));
      // Busy, not failed: the same command works once the port is free (exit code 3).
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      holder.close();
    }
  });

  it('a pipeline whose work fails exits 1, not 2', () => {
    const r = doctune('pipeline', path.join(tempDir('cli-pipe'), 'nothing-here'), '--model', TINY_MODEL, '--out', tempDir('cli-pipe-out'));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/nothing could be imported/);
  });

  it('docs show lists a document\'s passages with page and heading, by file name, title or id', () => {
    const docs = JSON.parse(doctune('docs', '--workspace', ws, '--json').stdout) as { id: string; title: string; path: string; chunks: number }[];
    const law = docs.find((d) => d.path.endsWith('.md'))!;
    const byName = doctune('docs', 'show', path.basename(law.path), '--workspace', ws, '--json');
    expect(byName.code, byName.stderr).toBe(0);
    const passages = JSON.parse(byName.stdout);
    expect(passages.document).toMatchObject({ id: law.id, title: law.title });
    expect(passages.passages).toHaveLength(law.chunks);
    expect(Object.keys(passages.passages[0]).sort()).toEqual(['heading', 'id', 'ocr', 'ordinal', 'page', 'text', 'tokens']);
    expect(passages.passages[1].heading[0]).toBe('中华人民共和国治安管理处罚法');
    expect(JSON.parse(doctune('docs', 'show', law.id, '--workspace', ws, '--json').stdout).document.id).toBe(law.id);
    const pdf = docs.find((d) => d.path.endsWith('osha_factsheet_lockout_tagout.pdf'))!;
    const text = doctune('docs', 'show', pdf.title, '--workspace', ws);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^\[1\] p\. 1/m);
    // A file that did not import says why.
    expect(doctune('docs', 'show', 'empty.pdf', '--workspace', ws).stdout).toContain('did not import: empty file (0 bytes)');
    const unknown = doctune('docs', 'show', 'no-such-document', '--workspace', ws);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no document matches "no-such-document"/);
  });

  it('search --doc keeps to one document', () => {
    const all = JSON.parse(doctune('search', '处罚', '--workspace', ws, '--json').stdout) as { path: string }[];
    expect(all.length).toBeGreaterThan(0);
    const one = doctune('search', 'lockout', '--doc', 'osha_factsheet_lockout_tagout.pdf', '--workspace', ws, '--json');
    expect(one.code, one.stderr).toBe(0);
    const hits = JSON.parse(one.stdout) as { path: string }[];
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.path.endsWith('osha_factsheet_lockout_tagout.pdf'))).toBe(true);
    expect(JSON.parse(doctune('search', 'lockout', '--doc', '治安管理处罚法(2012-10-26).md', '--workspace', ws, '--json').stdout)).toEqual([]);
  });
});
