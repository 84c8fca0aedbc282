/**
 * Child-process entry for training. ggml aborts the process on a failed assertion, so training never runs
 * inside the app or the CLI: the supervisor forks this file, sends one `start` message and relays events.
 */
import { DocTuneError, toWireError } from '../errors.js';
import { acceptedConversations } from '../store/qa-store.js';
import { Workspace } from '../store/workspace.js';
import { prepareExamples } from './prepare-examples.js';
import { readConversations, type Conversation } from './sft-data.js';
import type { TrainConfig } from './train-config.js';
import { sha256File } from '../hash-file.js';
import { trainAdapter, type TrainEvent, type TrainResult } from './train-loop.js';
import { backendDirs, loadAddon, type DeviceInfo } from './native-addon.js';

export interface TrainRequest {
  config: TrainConfig;
  /** A data file (Alpaca, ShareGPT, OpenAI messages), or a workspace whose accepted QA pairs to learn. */
  dataFile?: string;
  workspace?: string;
  outDir: string;
  resumeFrom?: string;
}

export type WorkerMessage =
  | { type: 'event'; event: TrainEvent | { type: 'prepared'; examples: number } }
  | { type: 'devices'; devices: DeviceInfo[]; notes: string; cpuKernel: string }
  | { type: 'done'; result: TrainResult }
  | { type: 'error'; error: { code: string; message: string; path?: string } };

let cancelled = false;
/** In the desktop app this runs as an Electron utility process, which talks through process.parentPort. */
interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

const send = (m: WorkerMessage): void => {
  if (parentPort) parentPort.postMessage(m);
  else process.send?.(m);
};
/**
 * Send the last message, then let the parent go: a forked process disconnects once the message is flushed
 * (disconnecting earlier would lose it); a utility process is ended by its parent.
 */
const sendLast = (m: WorkerMessage): void => {
  if (parentPort) parentPort.postMessage(m);
  else process.send?.(m, () => process.disconnect?.());
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

if (parentPort) parentPort.on('message', (e) => onRequest(e.data as Request));
else process.on('message', (m) => onRequest(m as Request));

async function workspaceConversations(dir: string): Promise<Conversation[]> {
  const ws = await Workspace.open(dir);
  try {
    const conversations = await acceptedConversations(ws);
    if (!conversations.length) {
      throw new DocTuneError('BAD_ARGUMENT', 'the workspace has no accepted QA pairs yet (review generated pairs, or add reviewed ones with `doctune dataset import`)', { path: dir });
    }
    return conversations;
  } finally {
    ws.close();
  }
}

async function run(req: TrainRequest): Promise<TrainResult> {
  const conversations = req.workspace ? await workspaceConversations(req.workspace) : await readConversations(req.dataFile!);
  const examples = await prepareExamples(req.config.modelPath, conversations, req.config.seq, req.config.longSequences);
  send({ type: 'event', event: { type: 'prepared', examples: examples.length } });
  return trainAdapter(req.config, examples, req.outDir, {
    onEvent: (event) => send({ type: 'event', event }),
    cancelled: () => cancelled,
    modelSha256: await sha256File(req.config.modelPath),
    conversations,
    ...(req.resumeFrom ? { resumeFrom: req.resumeFrom } : {}),
  });
}
