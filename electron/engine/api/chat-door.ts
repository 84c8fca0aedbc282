/**
 * The chat window and evaluation through the contract: model and adapter settings, answers streamed as
 * events (the adapted model, and the base model beside it in side-by-side mode), retrieval with citations,
 * conversations saved per workspace, and evaluation runs with their reports. llama.cpp runs in supervised
 * worker processes (ChatHost), one per model/adapter/scale in use.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ChatSide, Citation, Conversation, EventName, EventOf, ResultOf } from '../../shared/contract.js';
import { ChatHost } from '../chat/chat-host.js';
import { DocTuneError, toWireError } from '../errors.js';
import { runEval } from '../eval/run-eval.js';
import type { Embedder } from '../models/embedder.js';
import { searchWorkspace } from '../store/search.js';
import type { StoredChatSettings, Workspace } from '../store/workspace.js';

export const DEFAULT_CHAT: StoredChatSettings = { modelPath: '', adapterPath: '', scale: 1, temperature: 0.7, topP: 0.9, maxTokens: 512, rag: false, compare: false };

const RAG_K = 3;

export class ChatDoor {
  private readonly hosts = new Map<string, Promise<ChatHost>>();
  private readonly jobs = new Map<string, AbortController>();
  private evalRunning = false;

  constructor(
    private readonly ws: () => Promise<Workspace>,
    private readonly embedder: (ws: Workspace) => Promise<Embedder | null>,
    private readonly emit: <E extends EventName>(event: E, payload: EventOf<E>) => void,
    private readonly threads: number,
  ) {}

  async settings(): Promise<StoredChatSettings> {
    return { ...DEFAULT_CHAT, ...((await this.ws()).settings.chat ?? {}) };
  }

  async setSettings(patch: Partial<StoredChatSettings>): Promise<StoredChatSettings> {
    const ws = await this.ws();
    const next = { ...DEFAULT_CHAT, ...(ws.settings.chat ?? {}), ...patch };
    await ws.updateSettings({ chat: next });
    return next;
  }

  /** Adapters under the workspace's runs folder, newest first, each with the base model its run.json names. */
  async adapters(): Promise<ResultOf<'chat.adapters'>> {
    const root = path.join((await this.ws()).dir, 'runs');
    const out: ResultOf<'chat.adapters'> = [];
    for (const dir of await fs.readdir(root).catch(() => [] as string[])) {
      try {
        const run = JSON.parse(await fs.readFile(path.join(root, dir, 'run.json'), 'utf8')) as { adapter: string; base_model: { path: string }; finished_at: string };
        out.push({ adapterPath: run.adapter, modelPath: run.base_model.path, finishedAt: run.finished_at });
      } catch {
        // not a finished run
      }
    }
    return out.sort((a, b) => b.finishedAt.localeCompare(a.finishedAt));
  }

  private host(modelPath: string, adapterPath: string | null, scale: number): Promise<ChatHost> {
    const key = JSON.stringify([modelPath, adapterPath, scale]);
    const existing = this.hosts.get(key);
    if (existing) return existing;
    // One worker per role (base, adapted): another model, adapter or scale replaces the old one.
    for (const [k, old] of this.hosts) {
      const [, a] = JSON.parse(k) as [string, string | null];
      if ((a === null) === (adapterPath === null)) {
        this.hosts.delete(k);
        void old.then((x) => x.close()).catch(() => undefined);
      }
    }
    const h = ChatHost.open({ modelPath, ...(adapterPath ? { adapterPath } : {}), scale, threads: this.threads, parallel: 1 });
    this.hosts.set(key, h);
    h.catch(() => this.hosts.delete(key));
    return h;
  }

  async send(messages: Conversation['messages']): Promise<{ jobId: string }> {
    const s = await this.settings();
    if (!s.modelPath) throw new DocTuneError('BAD_ARGUMENT', 'choose a model for the chat first');
    const question = messages.findLast((m) => m.role === 'user');
    if (!question) throw new DocTuneError('BAD_ARGUMENT', 'the conversation has no question to answer');
    const jobId = randomUUID();
    const controller = new AbortController();
    this.jobs.set(jobId, controller);
    const sides: ChatSide[] = s.adapterPath ? (s.compare ? ['adapted', 'base'] : ['adapted']) : ['base'];
    void (async () => {
      let citations: Citation[] = [];
      if (s.rag) {
        const ws = await this.ws();
        const hits = await searchWorkspace(ws, question.content, RAG_K, await this.embedder(ws));
        citations = hits.map((h, i) => ({ n: i + 1, chunkId: h.chunkId, documentId: h.documentId, title: h.title, page: h.page, heading: h.heading, text: h.text }));
        this.emit('chat.citations', { jobId, citations });
      }
      // History as the user saw it: for each turn, the answer of the side being asked (or the only one).
      const history = (side: ChatSide): { role: 'system' | 'user' | 'assistant'; content: string }[] => {
        const out: { role: 'system' | 'user' | 'assistant'; content: string }[] = [];
        for (const m of messages) {
          if (m.role === 'assistant' && m.side && m.side !== side && messages.some((x) => x !== m && x.role === 'assistant' && x.side === side)) continue;
          out.push({ role: m.role, content: m.content });
        }
        if (citations.length) {
          const last = out.findLastIndex((m) => m.role === 'user');
          out[last] = { role: 'user', content: `Answer using the passages below, citing them as [n].\n\n${citations.map((c) => `[${c.n}] (${c.title}) ${c.text}`).join('\n\n')}\n\nQuestion: ${question.content}` };
        }
        return out;
      };
      await Promise.all(sides.map(async (side) => {
        try {
          const host = await this.host(s.modelPath, side === 'adapted' ? s.adapterPath : null, side === 'adapted' ? s.scale : 1);
          const g = await host.generate(history(side), {
            maxTokens: s.maxTokens, temperature: s.temperature, topP: s.topP, signal: controller.signal,
            onToken: (text) => this.emit('chat.token', { jobId, side, text }),
          });
          this.emit('chat.done', { jobId, side, text: g.text, finishReason: g.finishReason });
        } catch (err) {
          const e = toWireError(err);
          this.emit('chat.failed', { jobId, side, error: e.message, code: e.code });
        }
      }));
    })().finally(() => this.jobs.delete(jobId));
    return { jobId };
  }

  stop(jobId: string): { stopped: boolean } {
    const job = this.jobs.get(jobId);
    job?.abort();
    return { stopped: Boolean(job) };
  }

  private async chatsDir(): Promise<string> {
    return path.join((await this.ws()).dir, 'chats');
  }

  async history(): Promise<Conversation[]> {
    const dir = await this.chatsDir();
    const out: Conversation[] = [];
    for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')) as Conversation);
      } catch {
        // a damaged file is skipped, not fatal
      }
    }
    return out.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  async save(c: Conversation): Promise<{ saved: boolean }> {
    const dir = await this.chatsDir();
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, `${c.id}.json`);
    await fs.writeFile(`${file}.tmp`, JSON.stringify(c));
    await fs.rename(`${file}.tmp`, file);
    return { saved: true };
  }

  async remove(id: string): Promise<{ deleted: boolean }> {
    return fs.rm(path.join(await this.chatsDir(), `${id}.json`)).then(() => ({ deleted: true }), () => ({ deleted: false }));
  }

  async runEval(rag: boolean): Promise<{ jobId: string }> {
    if (this.evalRunning) throw new DocTuneError('BAD_ARGUMENT', 'an evaluation is already running');
    const s = await this.settings();
    if (!s.modelPath || !s.adapterPath) throw new DocTuneError('BAD_ARGUMENT', 'choose a model and an adapter to evaluate');
    const ws = await this.ws();
    const jobId = randomUUID();
    this.evalRunning = true;
    void runEval({ modelPath: s.modelPath, adapterPath: s.adapterPath, workspace: ws, rag, threads: this.threads, onProgress: (done, total) => this.emit('eval.progress', { jobId, done, total }) })
      .then(({ items: _items, failures: _failures, ...r }) => this.emit('eval.done', { jobId, summary: { ...r, report: path.basename(r.report) } }))
      .catch((err: unknown) => {
        const e = toWireError(err);
        this.emit('eval.failed', { jobId, error: e.message, code: e.code });
      })
      .finally(() => {
        this.evalRunning = false;
      });
    return { jobId };
  }

  async reports(): Promise<ResultOf<'eval.reports'>> {
    const dir = path.join((await this.ws()).dir, 'reports');
    const files = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => /^eval-.*\.html$/.test(f));
    const out = await Promise.all(files.map(async (f) => ({ fileName: f, createdAt: (await fs.stat(path.join(dir, f))).mtime.toISOString() })));
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async report(fileName: string): Promise<{ html: string }> {
    const file = path.join((await this.ws()).dir, 'reports', path.basename(fileName));
    return { html: await fs.readFile(file, 'utf8').catch(() => { throw new DocTuneError('NOT_FOUND', 'no such report', { path: file }); }) };
  }

  async close(): Promise<void> {
    for (const j of this.jobs.values()) j.abort();
    for (const h of this.hosts.values()) await h.then((x) => x.close()).catch(() => undefined);
    this.hosts.clear();
  }
}
