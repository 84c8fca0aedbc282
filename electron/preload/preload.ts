/**
 * The only bridge between the sandboxed renderer and the app: a narrow, typed API (the contract's
 * DocTuneApi). No Node or Electron object crosses it; channel names are checked here and payloads are
 * validated again in the main process.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { BRIDGE_NAME, EVENT_CHANNEL, events, INVOKE_CHANNEL, isChannel, type DocTuneApi, type EventName } from '../shared/contract.js';


/**
 * Errors leave as plain `{code, message, path?}` objects: contextBridge keeps only the message of an Error,
 * and the UI needs the code.
 */
function bridgeError(code: string, message: string, path?: string): { code: string; message: string; path?: string } {
  return path === undefined ? { code, message } : { code, message, path };
}

const api: DocTuneApi = {
  async invoke(channel, args) {
    if (!isChannel(channel)) throw bridgeError('BAD_ARGUMENT', `unknown channel ${String(channel)}`);
    const reply = (await ipcRenderer.invoke(INVOKE_CHANNEL, channel, args)) as
      | { ok: true; result: never }
      | { ok: false; error: { code: string; message: string; path?: string } };
    if (reply.ok) return reply.result;
    throw bridgeError(reply.error.code, reply.error.message, reply.error.path);
  },
  on(event, listener) {
    if (!Object.prototype.hasOwnProperty.call(events, event)) throw bridgeError('BAD_ARGUMENT', `unknown event ${String(event)}`);
    const handler = (_e: Electron.IpcRendererEvent, name: EventName, payload: unknown): void => {
      if (name === event) listener(payload as Parameters<typeof listener>[0]);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => ipcRenderer.off(EVENT_CHANNEL, handler);
  },
  pathForFile(file: File) {
    return webUtils.getPathForFile(file);
  },
};

contextBridge.exposeInMainWorld(BRIDGE_NAME, api);
