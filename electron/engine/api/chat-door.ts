/**
 * The chat window and evaluation through the contract: model and adapter settings, answers streamed as
 * events (the adapted model, and the base model beside it in side-by-side mode), retrieval with citations,
 * conversations saved per workspace, and evaluation runs with their reports. llama.cpp runs in supervised
 * worker processes (ChatHost), one per model/adapter/scale in use.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Conversation as ConversationRecord, DEFAULT_CHAT_SETTINGS, type ChatSide, type Citation, type Conversation, type EventName, type EventOf, type ResultOf } from '../../shared/contract.js';
import { ChatHost } from '../chat/chat-host.js';
import { historyFor } from '../chat/history.js';
import { ragQuestion, withPassages } from '../chat/rag-prompt.js';
import type { Conversation as ModelConversation } from '../models/messages.js';
import type { Teacher } from '../dataset/teacher.js';
import { importPeftAdapter } from '../models/peft-adapter.js';
import { Serial } from '../serial.js';
import { DocTuneError, toWireError } from '../errors.js';
import type { Job, JobSlots } from './job-slots.js';
import { evalReliability } from '../../shared/eval-reliability.js';
import { readEvalReport } from '../eval/report-html.js';
import type { ReportLanguage } from '../eval/report-text.js';
import { runEval } from '../eval/run-eval.js';
import type { Embedder } from '../models/embedder.js';
import { metaString, readGguf } from '../models/gguf/gguf-reader.js';
import type { StoredChatSettings, Workspace } from '../store/workspace.js';
import { log, logged } from '../log.js';
import { readRunRecord, writeRunRecord } from '../train/run-record.js';
import { recordFormat } from '../versioned-record.js';
import { z } from 'zod';
import { retrievePassages } from '../chat/retrieve.js';


/** adapters.json: the adapter files the user added to a workspace's chat, in the order added. */
const ADDED_ADAPTERS = recordFormat('adapters.json', z.object({ version: z.literal(1), adapters: z.array(z.string().min(1)) }), 1);

/** chats/<id>.json: a saved conversation (versioned; those saved before versions are version 1). */
const SAVED_CONVERSATION = recordFormat('conversation', ConversationRecord.extend({ version: z.literal(1) }), 1);

/** The history with its last question replaced (by the question carrying passages), or as it is. */
function withQuestion(history: ModelConversation, content: string | null): ModelConversation {
  if (content === null) return history;
  const last = history.findLastIndex((m) => m.role === 'user');
  return history.map((m, i) => (i === last ? { role: 'user', content } : m));
}

/** An added adapter file, with the base model and time of the run.json beside it when that run made it. */
async function describeAdapter(file: string): Promise<{ adapterPath: string; modelPath: string; finishedAt: string }> {
  const recordFile = path.join(path.dirname(file), 'run.json');
  const run = await readRunRecord(recordFile).catch(logged('reading the run record beside an added adapter', { path: recordFile }));
  if (run && path.resolve(path.dirname(file), run.adapter) === file) return { adapterPath: file, modelPath: run.base_model.path, finishedAt: run.finished_at };
  const stat = await fs.stat(file).catch(() => null);
  return { adapterPath: file, modelPath: '', finishedAt: stat ? stat.mtime.toISOString() : '' };
}

export class ChatDoor {
  /** Loaded chat models by model, adapter and scale; `adapted` says which role (base or adapted) each serves. */
  private readonly hosts = new Map<string, { adapted: boolean; host: Promise<ChatHost> }>();
  private readonly settingsWrites = new Serial();
  private readonly fileWrites = new Serial();

  constructor(
    private readonly ws: () => Promise<Workspace>,
    private readonly embedder: (ws: Workspace) => Promise<Embedder | null>,
    private readonly emit: <E extends EventName>(event: E, payload: EventOf<E>) => void,
    private readonly threads: number | undefined,
    /** The workspace's teacher as a judge of evaluation answers. */
    private readonly openJudge: () => Promise<{ teacher: Teacher; name: string }>,
    private readonly jobs: JobSlots,
  ) {}

  async settings(): Promise<StoredChatSettings> {
    return { ...DEFAULT_CHAT_SETTINGS, ...((await this.ws()).settings.chat ?? {}) };
  }

  /** Patches apply one at a time: two quick changes (a slider and a toggle) must both survive. */
  setSettings(patch: Partial<StoredChatSettings>): Promise<StoredChatSettings> {
    return this.settingsWrites.run(async () => {
      const ws = await this.ws();
      const next = { ...DEFAULT_CHAT_SETTINGS, ...(ws.settings.chat ?? {}), ...patch };
      await ws.updateSettings({ chat: next });
      return next;
    });
  }

  /**
   * Adapters under the workspace's runs folder, newest first, each with the base model its run.json names;
   * then the adapter files the user added from elsewhere, in the order they were added.
   */
  async adapters(): Promise<ResultOf<'chat.adapters'>> {
    const root = path.join((await this.ws()).dir, 'runs');
    const out: ResultOf<'chat.adapters'> = [];
    for (const dir of await fs.readdir(root).catch(() => [] as string[])) {
      // A folder without run.json is a run that has not finished; a damaged one is logged and left out.
      const file = path.join(root, dir, 'run.json');
      const run = await readRunRecord(file).catch(logged('reading a run record', { path: file }));
      if (run) out.push({ adapterPath: path.resolve(root, dir, run.adapter), modelPath: run.base_model.path, finishedAt: run.finished_at });
    }
    out.sort((a, b) => b.finishedAt.localeCompare(a.finishedAt));
    const listed = new Set(out.map((a) => a.adapterPath));
    for (const file of await this.addedAdapters()) if (!listed.has(file)) out.push({ ...(await describeAdapter(file)), added: true });
    return out;
  }

  private async addedFile(): Promise<string> {
    return path.join((await this.ws()).dir, 'adapters.json');
  }

  /**
   * Adapter files the user added (kept in the workspace, beside its settings). A damaged list is logged and
   * shown as empty; changing it (strict) refuses instead, so that what it held is not overwritten.
   */
  private async addedAdapters(strict = false): Promise<string[]> {
    const file = await this.addedFile();
    try {
      return (await ADDED_ADAPTERS.read(file))?.adapters ?? [];
    } catch (err) {
      if (strict) throw err;
      log.warn('the list of added adapters cannot be read', { path: file, err });
      return [];
    }
  }

  /** Checks the file is a LoRA adapter GGUF, then remembers it (trained with `doctune train --out …`, or elsewhere). */
  async addAdapter(file: string): Promise<ResultOf<'chat.adapters.add'>> {
    const full = path.resolve(file);
    // A folder is a PEFT adapter trained elsewhere: converted for the chat's base model, then added.
    if (await fs.stat(full).then((s) => s.isDirectory(), () => false)) return this.addAdapter(await this.importPeft(full));
    let g;
    try {
      g = await readGguf(full);
    } catch (err) {
      throw new DocTuneError('MODEL', `not a usable LoRA adapter: ${(err as Error).message}`, { path: full, cause: err });
    }
    if (metaString(g, 'general.type') !== 'adapter') throw new DocTuneError('MODEL', 'this GGUF file is a model, not a LoRA adapter', { path: full });
    const listed = await this.adapters();
    const already = listed.find((a) => a.adapterPath === full);
    if (already) return { adapters: listed, added: already };
    await this.fileWrites.run(async () => {
      const known = await this.addedAdapters(true);
      if (!known.includes(full)) await ADDED_ADAPTERS.write(await this.addedFile(), { adapters: [...known, full] });
    });
    const adapters = await this.adapters();
    return { adapters, added: adapters.find((a) => a.adapterPath === full)! };
  }

  /**
   * A PEFT adapter folder (adapter_config.json + adapter_model.safetensors) converted for the chat settings'
   * base model, into a folder of its own in the workspace with a run record naming that model. Each import
   * gets a new path: llama.cpp caches adapters by path.
   */
  private async importPeft(dir: string): Promise<string> {
    const modelPath = (await this.settings()).modelPath;
    if (!modelPath) throw new DocTuneError('BAD_ARGUMENT', 'choose the base model first: a PEFT adapter is converted for the model it was trained on', { path: dir });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const outDir = path.join((await this.ws()).dir, 'imported-adapters', `${path.basename(dir).replace(/[^\w.-]+/g, '_')}-${stamp}`);
    await fs.mkdir(outDir, { recursive: true });
    const adapter = path.join(outDir, 'adapter.gguf');
    try {
      await importPeftAdapter(dir, modelPath, adapter);
    } catch (err) {
      await fs.rm(outDir, { recursive: true, force: true });
      throw err;
    }
    await writeRunRecord(path.join(outDir, 'run.json'), { adapter: 'adapter.gguf', base_model: { path: modelPath }, finished_at: new Date().toISOString(), imported_from: dir });
    return adapter;
  }

  async forgetAdapter(file: string): Promise<ResultOf<'chat.adapters'>> {
    const full = path.resolve(file);
    await this.fileWrites.run(async () => {
      const known = await this.addedAdapters(true);
      if (known.includes(full)) await ADDED_ADAPTERS.write(await this.addedFile(), { adapters: known.filter((a) => a !== full) });
    });
    return this.adapters();
  }

  private host(modelPath: string, adapterPath: string | null, scale: number): Promise<ChatHost> {
    const key = JSON.stringify([modelPath, adapterPath, scale]);
    const existing = this.hosts.get(key);
    if (existing) return existing.host;
    const adapted = adapterPath !== null;
    // One worker per role (base, adapted): another model, adapter or scale replaces the old one.
    for (const [k, old] of this.hosts) {
      if (old.adapted === adapted) {
        this.hosts.delete(k);
        void old.host.then((x) => x.close()).catch(logged('closing the previous chat model', { key }));
      }
    }
    const h = ChatHost.open({ modelPath, ...(adapterPath ? { adapterPath } : {}), scale, ...(this.threads ? { threads: this.threads } : {}), parallel: 1 });
    this.hosts.set(key, { adapted, host: h });
    h.catch(() => this.hosts.delete(key));
    return h;
  }

  async send(messages: Conversation['messages']): Promise<{ jobId: string }> {
    const s = await this.settings();
    if (!s.modelPath) throw new DocTuneError('BAD_ARGUMENT', 'choose a model for the chat first');
    const question = messages.findLast((m) => m.role === 'user');
    if (!question) throw new DocTuneError('BAD_ARGUMENT', 'the conversation has no question to answer');
    const sides: ChatSide[] = s.adapterPath ? (s.compare ? ['adapted', 'base'] : ['adapted']) : ['base'];
    const { jobId } = await this.jobs.start({ kind: 'chat', run: (_none, job) => this.answer(job, s, messages, question, sides) });
    return { jobId };
  }

  /** The answers of every side to the last question, streamed as chat.* events. */
  private async answer(job: Job, s: StoredChatSettings, messages: Conversation['messages'], question: Conversation['messages'][number], sides: ChatSide[]): Promise<void> {
    const jobId = job.id;
    {
      const histories = new Map(sides.map((side) => [side, historyFor(messages, side)]));
      let used: Citation[] = [];
      try {
        if (s.rag) {
          const ws = await this.ws();
          const hits = await retrievePassages(ws, question.content, await this.embedder(ws));
          const passages: Citation[] = hits.map((h, i) => ({ n: i + 1, chunkId: h.chunkId, documentId: h.documentId, title: h.title, page: h.page, heading: h.heading, text: h.text }));
          // Fitted once, beside the longest history: every side then gets the same passages, and the
          // citations list exactly what each model saw (same model, so the same token counts).
          const longest = [...histories.values()].reduce((a, b) => (JSON.stringify(b).length > JSON.stringify(a).length ? b : a));
          const host = await this.host(s.modelPath, sides[0] === 'adapted' ? s.adapterPath : null, sides[0] === 'adapted' ? s.scale : 1);
          used = (await withPassages(host, longest, passages, s.maxTokens)).used;
          // Citations keep the whole passage for the reader, numbered as the model saw them.
          this.emit('chat.citations', { jobId, citations: used.map((p, i) => ({ ...passages[i]!, n: i + 1 })) });
        }
      } catch (err) {
        // Retrieval failed (the embedding model, the store): every side is told, none waits forever.
        const e = toWireError(err);
        for (const side of sides) this.emit('chat.failed', { jobId, side, error: e.message, code: e.code });
        return;
      }
      await Promise.all(sides.map(async (side) => {
        try {
          const host = await this.host(s.modelPath, side === 'adapted' ? s.adapterPath : null, side === 'adapted' ? s.scale : 1);
          const history = withQuestion(histories.get(side)!, used.length ? ragQuestion(question.content, used) : null);
          const g = await host.generate(history, {
            maxTokens: s.maxTokens, temperature: s.temperature, topP: s.topP, signal: job.signal,
            onToken: (text) => this.emit('chat.token', { jobId, side, text }),
          });
          this.emit('chat.done', { jobId, side, text: g.text, finishReason: g.finishReason });
        } catch (err) {
          const e = toWireError(err);
          this.emit('chat.failed', { jobId, side, error: e.message, code: e.code });
        }
      }));
    }
  }

  stop(jobId: string): { stopped: boolean } {
    return { stopped: this.jobs.cancel(jobId, 'chat') };
  }

  private async chatsDir(): Promise<string> {
    return path.join((await this.ws()).dir, 'chats');
  }

  /** The saved conversations, newest first. A file that is not one (damaged, hand-edited) is skipped and named. */
  async history(): Promise<Conversation[]> {
    const dir = await this.chatsDir();
    const out: Conversation[] = [];
    for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      const file = path.join(dir, f);
      try {
        const record = await SAVED_CONVERSATION.read(file);
        if (record) {
          const { version: _v, ...conversation } = record;
          out.push(conversation);
        }
      } catch (err) {
        log.warn('skipped a saved conversation that cannot be read', { path: file, err });
      }
    }
    return out.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  /** Written whole under a temporary name, then renamed: a crash leaves the old file or the new one. */
  save(c: Conversation): Promise<{ saved: boolean }> {
    return this.fileWrites.run(async () => {
      const dir = await this.chatsDir();
      await fs.mkdir(dir, { recursive: true });
      const file = path.join(dir, `${c.id}.json`);
      try {
        await SAVED_CONVERSATION.write(file, c);
      } catch (err) {
        throw new DocTuneError('WORKSPACE', `cannot save the conversation: ${(err as Error).message}`, { path: file, cause: err });
      }
      return { saved: true };
    });
  }

  remove(id: string): Promise<{ deleted: boolean }> {
    return this.fileWrites.run(async () => fs.rm(path.join(await this.chatsDir(), `${id}.json`)).then(() => ({ deleted: true }), () => ({ deleted: false })));
  }

  /** Starts an evaluation in the background (one at a time); progress and the end arrive as eval.* events. */
  async runEval(rag: boolean, judged: boolean): Promise<{ jobId: string }> {
    const { jobId } = await this.jobs.start({
      kind: 'evaluate',
      // The settings and the judge model (seconds to load) are the request's answer: a judge that cannot be
      // used is said at once, not after every answer.
      setup: async () => {
        const s = await this.settings();
        if (!s.modelPath || !s.adapterPath) throw new DocTuneError('BAD_ARGUMENT', 'choose a model and an adapter to evaluate');
        const ws = await this.ws();
        return { s, ws, embedder: rag ? await this.embedder(ws) : null, judge: judged ? await this.openJudge() : null };
      },
      run: ({ s, ws, embedder, judge }, job) => {
        const release = async (): Promise<void> => {
          // Free before the event goes out: a listener may start the next evaluation at once.
          job.release();
          await judge?.teacher.dispose().catch(logged('closing the judge model'));
        };
        return runEval({
          modelPath: s.modelPath!, adapterPath: s.adapterPath!, workspace: ws, rag, embedder, ...(this.threads ? { threads: this.threads } : {}), signal: job.signal,
          ...(judge ? { judge } : {}),
          onProgress: (d, total) => this.emit('eval.progress', { jobId: job.id, done: d, total }),
        }).then(
          async ({ items: _items, ...r }) => {
            await release();
            this.emit('eval.done', { jobId: job.id, summary: { ...r, report: path.basename(r.report) } });
          },
          async (err: unknown) => {
            await release();
            const e = toWireError(err);
            this.emit('eval.failed', { jobId: job.id, error: e.message, code: e.code });
          },
        );
      },
    });
    return { jobId };
  }

  cancelEval(jobId: string): { cancelled: boolean } {
    return { cancelled: this.jobs.cancel(jobId, 'evaluate') };
  }

  async reports(): Promise<ResultOf<'eval.reports'>> {
    const dir = path.join((await this.ws()).dir, 'reports');
    const files = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => /^eval-.*\.html$/.test(f));
    const out = await Promise.all(files.map(async (f) => ({ fileName: f, createdAt: (await fs.stat(path.join(dir, f))).mtime.toISOString() })));
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** A report in the UI's language; embedded (in the evaluation panel) without the scores the panel shows from `summary`. */
  async report(fileName: string, lang?: ReportLanguage, embedded?: boolean): Promise<ResultOf<'eval.report'>> {
    const { html, data } = await readEvalReport(path.join((await this.ws()).dir, 'reports'), fileName, { ...(lang ? { lang } : {}), embedded: Boolean(embedded) });
    if (!data) return { html, summary: null };
    const { n, base, adapted, base_rag, adapted_rag, rag, judge, failures } = data;
    return { html, summary: { n, base, adapted, base_rag, adapted_rag, rag, judge, failures, report: path.basename(fileName), reliability: data.reliability ?? evalReliability(n), examples: data.examples ?? null } };
  }

  async close(): Promise<void> {
    await this.jobs.close(['chat', 'evaluate']);
    for (const { host } of this.hosts.values()) await host.then((x) => x.close()).catch(logged('closing a chat model'));
    this.hosts.clear();
  }
}
