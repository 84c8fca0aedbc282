import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { EVENT_CHANNEL, events, INVOKE_CHANNEL, isChannel, type EventName } from '../shared/contract.js';
import type { Engine } from '../engine/api/engine.js';
import { toWireError } from '../engine/errors.js';
import { log } from '../engine/log.js';


/**
 * The Electron door: one IPC handler that checks the sender is our own window's top frame, validates the
 * payload against the contract (inside Engine.invoke) and returns a result-or-error envelope, because
 * Electron strips custom properties (our error code) from errors thrown across IPC.
 */
export function registerIpc(engine: Engine, isTrustedSender: (event: IpcMainInvokeEvent) => boolean): void {
  ipcMain.handle(INVOKE_CHANNEL, async (event, channel: unknown, args: unknown) => {
    if (!isTrustedSender(event)) {
      log.warn('refused a request from an untrusted sender', { url: event.senderFrame?.url ?? null, channel: String(channel) });
      return { ok: false, error: { code: 'FORBIDDEN', message: 'untrusted sender' } };
    }
    if (!isChannel(channel)) return { ok: false, error: { code: 'BAD_ARGUMENT', message: `unknown channel ${String(channel)}` } };
    try {
      return { ok: true, result: await engine.invoke(channel, args) };
    } catch (err) {
      return { ok: false, error: toWireError(err) };
    }
  });
}

/** Forward engine events to a window for as long as it lives. */
export function forwardEvents(engine: Engine, contents: WebContents): void {
  const offs = (Object.keys(events) as EventName[]).map((name) =>
    engine.on(name, (payload) => {
      if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, name, payload);
    }),
  );
  contents.once('destroyed', () => offs.forEach((off) => off()));
}
