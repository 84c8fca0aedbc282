import { BRIDGE_NAME, type DocTuneApi } from '$shared/contract';
import { toApiError } from './api-error';
import { SocketApi, type ConnectionState } from './socket-api';

export { ApiError, toApiError } from './api-error';
export type { ConnectionState } from './socket-api';
export type { UploadItem } from './upload';

const TOKEN_KEY = 'doctune.token';

/**
 * The access token of browser mode. It arrives once in the URL (`?token=…`); it is kept in sessionStorage so a
 * reload still works, and removed from the address bar so it does not linger in history or screenshots.
 */
export function readAccessToken(): string {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    try {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
      params.delete('token');
      const query = params.toString();
      history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
    } catch {
      // Without storage the token stays in the URL, which still lets a reload work.
    }
    return fromUrl;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

function bridge(): DocTuneApi | undefined {
  return (window as unknown as Record<string, DocTuneApi | undefined>)[BRIDGE_NAME];
}

/** Electron's bridge, unchanged except that rejections become ApiErrors like in browser mode. */
function wrapBridge(raw: DocTuneApi): DocTuneApi {
  const wrapped: DocTuneApi = {
    invoke: (channel, args) => raw.invoke(channel, args).catch((err: unknown) => Promise.reject(toApiError(err))),
    on: (event, listener) => raw.on(event, listener),
  };
  if (raw.pathForFile) wrapped.pathForFile = (file) => raw.pathForFile?.(file) ?? '';
  return wrapped;
}

let instance: DocTuneApi | null = null;
let socketApi: SocketApi | null = null;
let missingToken = false;
let token = '';

/** The one API object of this window: the Electron preload bridge, or a WebSocket to the browser-mode server. */
export function getApi(): DocTuneApi {
  if (instance) return instance;
  const electron = bridge();
  if (electron) {
    instance = wrapBridge(electron);
    return instance;
  }
  token = readAccessToken();
  missingToken = token === '';
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  socketApi = new SocketApi(`${scheme}://${location.host}/api?token=${encodeURIComponent(token)}`, token);
  instance = socketApi;
  return instance;
}

export function isBrowserMode(): boolean {
  getApi();
  return socketApi !== null;
}

export function hasAccessToken(): boolean {
  getApi();
  return !missingToken;
}

/** Browser mode's access token (for same-origin downloads such as exports); empty in Electron. */
export function accessToken(): string {
  getApi();
  return token;
}

/** Connection state of browser mode; Electron's IPC never drops, so it reports 'open' once. */
export function onConnectionState(listener: (state: ConnectionState) => void): () => void {
  getApi();
  if (socketApi) return socketApi.onConnectionState(listener);
  listener('open');
  return () => {};
}
