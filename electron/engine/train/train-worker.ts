/**
 * Child-process entry for training. ggml aborts the process on a failed assertion, so training never runs
 * inside the app or the CLI: the supervisor forks this file, sends one `start` message and relays events.
 */
import { DocTuneError, toWireError } from '../errors.js';
import { acceptedConversations } from '../store/qa-store.js';
import { Workspace } from '../store/workspace.js';
import { prepareExamples } from './prepare-examples.js';
import { autoSeq, type FitSummary } from './sequence-length.js';
import { metaNumber, metaString, readGguf } from '../models/gguf/gguf-reader.js';
import { readConversations } from '../dataset/conversation.js';
import type { Conversation } from '../models/messages.js';
import type { TrainConfig } from './train-config.js';
import { sha256File } from '../hash-file.js';
import { trainAdapter, type TrainEvent, type TrainResult } from './train-loop.js';
import { backendDirs, loadAddon, type DeviceInfo } from './native-addon.js';
import { onParentGone, onParentMessage, sendLastToParent, sendToParent } from '../worker-port.js';

export interface TrainRequest {
  config: TrainConfig;
  /** A data file (Alpaca, ShareGPT, OpenAI messages), or a workspace whose accepted QA pairs to learn. */
  dataFile?: string;
  workspace?: string;
  outDir: string;
  resumeFrom?: string;
}

export type WorkerMessage =
  | { type: 'event'; event: TrainEvent | { type: 'prepared'; examples: number; fit: FitSummary; leftOut?: number } }
  | { type: 'devices'; devices: DeviceInfo[]; notes: string; cpuKernel: string }
  | { type: 'done'; result: TrainResult }
  | { type: 'error'; error: { code: string; message: string; path?: string } };

let cancelled = false;
let finished = false;
const send = (m: WorkerMessage): void => sendToParent(m);
const sendLast = (m: WorkerMessage): void => {
  finished = true;
  sendLastToParent(m);
};

type Request = { type: 'start'; request: TrainRequest } | { type: 'cancel' } | { type: 'devices' };

function onRequest(msg: Request): void {
  if (msg.type === 'cancel') {
    cancelled = true;
    return;
  }
  if (msg.type === 'devices') {
    try {
      sendLast({ type: 'devices', ...loadAddon().listDevices(backendDirs()), cpuKernel: loadAddon().cpuMatmulKernel() });
    } catch (err) {
      sendLast({ type: 'error', error: toWireError(err) });
    }
    return;
  }
  void run(msg.request)
    .then((result) => sendLast({ type: 'done', result }))
    .catch((err: unknown) => sendLast({ type: 'error', error: toWireError(err) }));
}

onParentMessage((m) => onRequest(m as Request));
// The parent died: stop at the next step boundary with a checkpoint (the run resumes from it), then end.
onParentGone(() => {
  if (!finished) cancelled = true;
});

async function workspaceConversations(dir: string): Promise<{ conversations: Conversation[]; leftOut: number }> {
  const ws = await Workspace.open(dir);
  try {
    const accepted = await acceptedConversations(ws);
    if (!accepted.conversations.length) {
      throw new DocTuneError('BAD_ARGUMENT', accepted.leftOut
        ? `the workspace has no accepted QA pairs to train on: the ${accepted.leftOut} it has rest on removed documents`
        : 'the workspace has no accepted QA pairs yet (review generated pairs, or add reviewed ones with `doctune dataset import`)', { path: dir });
    }
    return accepted;
  } finally {
    ws.close();
  }
}

async function run(req: TrainRequest): Promise<TrainResult> {
  const { conversations, leftOut } = req.workspace ? await workspaceConversations(req.workspace) : { conversations: await readConversations(req.dataFile!), leftOut: 0 };
  // seq 0 (auto) resolves the same way on every resume: the model's context, capped.
  const model = await readGguf(req.config.modelPath);
  const seq = req.config.seq > 0 ? req.config.seq : autoSeq(metaNumber(model, `${metaString(model, 'general.architecture') ?? 'llama'}.context_length`));
  const { examples, fit } = await prepareExamples(req.config.modelPath, conversations, seq, req.config.longSequences);
  send({ type: 'event', event: { type: 'prepared', examples: examples.length, fit, ...(leftOut ? { leftOut } : {}) } });
  return trainAdapter({ ...req.config, seq }, examples, req.outDir, {
    fit,
    onEvent: (event) => send({ type: 'event', event }),
    cancelled: () => cancelled,
    modelSha256: await sha256File(req.config.modelPath),
    conversations,
    ...(req.resumeFrom ? { resumeFrom: req.resumeFrom } : {}),
  });
}
