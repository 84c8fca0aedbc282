/**
 * Adapters between DocTune (llama.cpp GGUF) and Hugging Face PEFT, for the engines that train or serve at
 * scale (LLaMA-Factory, Axolotl, vLLM): `doctune adapter export | import`. The app's chat imports a PEFT
 * folder through ChatDoor with the same converter.
 */
import path from 'node:path';
import { DocTuneError } from '../errors.js';
import { resolveModelArg } from '../models/model-arg.js';
import { exportPeftAdapter, importPeftAdapter, type PeftExport } from '../models/peft-adapter.js';
import { readRunRecord } from '../train/run-record.js';

export class AdapterDoor {
  /** The base model a run's adapter was trained on, from the run record beside it (null: none recorded). */
  private async runBaseModel(adapterPath: string): Promise<string | null> {
    return (await readRunRecord(path.join(path.dirname(adapterPath), 'run.json')))?.base_model.path ?? null;
  }

  /**
   * A DocTune adapter written as a PEFT adapter (adapter_model.safetensors + adapter_config.json). The base
   * model is the one named, else the one the run record beside the adapter names.
   */
  async exportPeft(o: { adapter: string; out: string; model?: string | undefined; baseModel?: string | undefined }): Promise<PeftExport> {
    return exportPeftAdapter(o.adapter, await this.baseModelOf(o.adapter, o.model), path.resolve(o.out), o.baseModel ? { baseModel: o.baseModel } : {});
  }

  /** The base model named (resolved), else the one the run record beside the adapter names. */
  async baseModelOf(adapter: string, model?: string): Promise<string> {
    const found = model ? await resolveModelArg(model) : await this.runBaseModel(adapter);
    if (!found) throw new DocTuneError('BAD_ARGUMENT', `the adapter has no run.json naming its base model: give it with --model BASE.gguf (${adapter})`, { path: adapter });
    return found;
  }

  /** A PEFT adapter trained elsewhere, converted for a base model into a DocTune adapter .gguf. */
  async importPeft(o: { dir: string; model: string; out: string }): Promise<{ path: string; pairs: number; rank: number; alpha: number; model: string }> {
    const out = path.resolve(o.out);
    if (!out.toLowerCase().endsWith('.gguf')) throw new DocTuneError('BAD_ARGUMENT', `the adapter to write must be a .gguf file (${out})`);
    const model = await resolveModelArg(o.model);
    return { ...(await importPeftAdapter(path.resolve(o.dir), model, out)), model };
  }
}
