/**
 * The model manager through the contract: the curated models with what they need on this machine and the
 * recommended one, the GGUFs the user already has (DocTune's downloads, Ollama's store, LM Studio's folder,
 * used in place), downloads with progress that resume after an interruption, and checking a file the user
 * picks before anything loads it.
 */
import os from 'node:os';
import path from 'node:path';
import type { DeviceReport, EventName, EventOf, LocalModel, ModelInfo, ModelsOverview } from '../../shared/contract.js';
import { resolveModelArg } from '../models/model-arg.js';
import { DocTuneError, toWireError } from '../errors.js';
import { BusyError, type JobSlots } from './job-slots.js';
import { catalogEntry, MODEL_CATALOG } from '../models/catalog.js';
import { discoverDownloaded, discoverLmStudio, discoverOllama } from '../models/discover.js';
import { downloadModel, downloadTarget } from '../models/download.js';
import { metaString, readGguf } from '../models/gguf/gguf-reader.js';
import { fitOnHardware, recommendModel } from '../train/model-fit.js';
import { trainability } from '../models/trainability.js';

export class ModelsDoor {

  constructor(
    private readonly modelsDir: string,
    private readonly devices: (refresh: boolean) => Promise<DeviceReport>,
    private readonly emit: <E extends EventName>(event: E, payload: EventOf<E>) => void,
    private readonly jobs: JobSlots,
  ) {}

  /**
   * This machine as model choice weighs it: the compute devices and memory. The probe runs the native
   * trainer in a worker; without it (not built, a driver's abort) the CPU still counts, and the notes say why.
   */
  async hardware(refresh = false): Promise<DeviceReport & { ramBytes: number; ramFreeBytes: number }> {
    const report = await this.devices(refresh).catch((err: unknown): DeviceReport => ({ devices: [], notes: `device probe failed, counting the CPU only: ${toWireError(err).message}` }));
    return { ...report, ramBytes: os.totalmem(), ramFreeBytes: os.freemem() };
  }

  /** The GGUFs the user already has: DocTune's downloads, Ollama's store, LM Studio's folder (used in place). */
  async local(): Promise<LocalModel[]> {
    const [downloaded, ollama, lmstudio] = await Promise.all([discoverDownloaded(this.modelsDir), discoverOllama(), discoverLmStudio()]);
    return [...downloaded, ...ollama, ...lmstudio];
  }

  async overview(refresh: boolean, language?: 'en' | 'zh'): Promise<ModelsOverview> {
    const report = await this.hardware(refresh);
    const hw = { devices: report.devices, ramBytes: report.ramBytes, cpuMatmul: !!report.cpuKernel && report.cpuKernel !== 'none' };
    const rec = recommendModel(MODEL_CATALOG, hw, language ? { language } : {});
    const gpu = report.devices.find((d) => d.backend.toUpperCase() !== 'CPU');
    const local = await this.local();
    const have = new Map(local.filter((m) => m.source === 'downloaded').map((m) => [m.name, m.path]));
    return {
      ramBytes: hw.ramBytes,
      gpu: gpu ? `${gpu.name} (${gpu.description})` : null,
      catalog: MODEL_CATALOG.map((e) => {
        const fit = fitOnHardware(e, hw);
        return {
          id: e.id, name: e.name, family: e.family, parameters: e.parameters, quant: e.quant, uri: e.uri, bytes: e.bytes, licence: e.licence,
          ...(e.terms ? { terms: e.terms } : {}), commercialUse: e.commercialUse, languages: e.languages, chat: fit.chat, training: fit.training,
          path: have.get(downloadTarget(e.uri).fileName) ?? null,
        };
      }),
      recommended: rec.entry?.id ?? null,
      reason: rec.reason,
      local,
      modelsDir: this.modelsDir,
    };
  }

  /** Starts a download in the background; a second request for the same model while it runs is refused. */
  async pull(id: string): Promise<{ jobId: string }> {
    const entry = catalogEntry(id);
    if (!entry) throw new DocTuneError('NOT_FOUND', `no model "${id}" in the catalog`);
    if (this.jobs.busyWith('download', id)) throw new BusyError('download', `${entry.name} is already being downloaded`);
    const { jobId } = await this.jobs.start({
      kind: 'download',
      key: id,
      run: (_none, job) => {
        let last = 0;
        return downloadModel(entry.uri, {
          dir: this.modelsDir, signal: job.signal, ...(process.env.HF_TOKEN ? { token: process.env.HF_TOKEN } : {}),
          onProgress: ({ received, total }) => {
            // A few events a second are plenty for a progress bar.
            const now = Date.now();
            if (now - last < 200 && received !== total) return;
            last = now;
            this.emit('models.progress', { jobId: job.id, id, received, total });
          },
        }).then(
          (file) => {
            // Forgotten before the event goes out: a listener may start the next download at once.
            job.release();
            this.emit('models.done', { jobId: job.id, id, path: file });
          },
          (err: unknown) => {
            job.release();
            const e = job.signal.aborted ? { code: 'CANCELLED', message: 'download paused: start it again to continue' } : toWireError(err);
            this.emit('models.failed', { jobId: job.id, id, error: e.message, code: e.code });
          },
        );
      },
    });
    return { jobId };
  }

  /**
   * A model fetched now (the command line's `models pull`): hf:OWNER/REPO/FILE.gguf or a URL downloaded into
   * the models folder, resuming a partial download; a local path or Ollama name found where it is.
   */
  fetch(spec: string, onProgress?: (received: number, total: number | null) => void): Promise<string> {
    return resolveModelArg(spec, onProgress, this.modelsDir);
  }

  cancel(jobId: string): { cancelled: boolean } {
    return { cancelled: this.jobs.cancel(jobId, 'download') };
  }

  /** A model file the user picked, read by DocTune's GGUF reader (llama.cpp aborts on some malformed files). */
  async inspect(file: string): Promise<ModelInfo> {
    const full = path.resolve(file);
    let g;
    try {
      g = await readGguf(full);
    } catch (err) {
      throw new DocTuneError('MODEL', `not a usable GGUF model: ${(err as Error).message}`, { path: full, cause: err });
    }
    if (metaString(g, 'general.type') === 'adapter') throw new DocTuneError('MODEL', 'this is a LoRA adapter, not a model', { path: full });
    const { trainable, reason } = trainability(g);
    return {
      path: full, name: metaString(g, 'general.name') ?? path.basename(full), architecture: metaString(g, 'general.architecture') ?? null, bytes: g.fileSize,
      instruct: Boolean(metaString(g, 'tokenizer.chat_template')), trainable, ...(reason ? { trainableReason: reason } : {}),
    };
  }

  async close(): Promise<void> {
    await this.jobs.close(['download']);
  }
}
