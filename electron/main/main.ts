import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, session, shell, type IpcMainInvokeEvent } from 'electron';
import { Engine } from '../engine/api/engine.js';
import { SUPPORTED_EXTENSIONS } from '../engine/ingest/detect-format.js';
import { DocTuneError } from '../engine/errors.js';
import { configureLogging, defaultLogDir, log } from '../engine/log.js';
import { userDataDir } from '../engine/paths.js';
import { setWorkerLauncher } from '../engine/worker-launcher.js';
import { forwardEvents, registerIpc } from './ipc.js';
import { utilityLauncher } from './utility-launcher.js';
import { APP_CSP } from '../shared/contract.js';

declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
declare const MAIN_WINDOW_VITE_NAME: string | undefined;

process.env.GGML_NO_BACKTRACE ??= '1';
// Native training work (and the device probe) runs in utility processes, not forked copies of Electron.
setWorkerLauncher(utilityLauncher);
const here = path.dirname(fileURLToPath(import.meta.url));
const devServerUrl = typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' ? MAIN_WINDOW_VITE_DEV_SERVER_URL : undefined;
const rendererName = typeof MAIN_WINDOW_VITE_NAME === 'string' ? MAIN_WINDOW_VITE_NAME : 'main_window';
const rendererIndex = path.join(here, `../renderer/${rendererName}/index.html`);


let mainWindow: BrowserWindow | null = null;

function isOwnPage(url: string): boolean {
  if (devServerUrl) return url.startsWith(devServerUrl);
  try {
    return fileURLToPath(url) === rendererIndex;
  } catch {
    return false;
  }
}

function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return Boolean(frame && mainWindow && event.sender === mainWindow.webContents && frame === mainWindow.webContents.mainFrame && isOwnPage(frame.url));
}

async function createWindow(engine: Engine): Promise<void> {
  mainWindow = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'DocTune',
    icon: path.join(here, '../../resources/icon.png'),
    show: false,
    webPreferences: {
      preload: path.join(here, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false,
      // Middle-click must not open links in new windows (Electronegativity AUXCLICK_JS_CHECK).
      disableBlinkFeatures: 'Auxclick',
    },
  });
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  forwardEvents(engine, mainWindow.webContents);
  mainWindow.on('closed', () => (mainWindow = null));
  if (devServerUrl) await mainWindow.loadURL(devServerUrl);
  else await mainWindow.loadFile(rendererIndex);
}

function hardenWebContents(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [APP_CSP] } });
  });
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isOwnPage(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      // Links in documents open in the user's browser, never inside the app.
      if (/^https:\/\//.test(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });
}

async function pickPaths(kind: 'files' | 'folder' | 'model' | 'adapter'): Promise<string[]> {
  const single = kind === 'model' || kind === 'adapter';
  const options: Electron.OpenDialogOptions = {
    properties: kind === 'folder' ? ['openDirectory', 'multiSelections'] : single ? ['openFile'] : ['openFile', 'multiSelections'],
    filters:
      kind === 'files'
        ? [{ name: 'Documents', extensions: SUPPORTED_EXTENSIONS.map((e) => e.slice(1)) }]
        : kind === 'model' ? [{ name: 'GGUF models', extensions: ['gguf'] }] : kind === 'adapter' ? [{ name: 'LoRA adapters (GGUF)', extensions: ['gguf'] }] : [],
  };
  const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
  return result.canceled ? [] : result.filePaths;
}

process.on('unhandledRejection', (err) => log.error('unhandled rejection in the main process', { err }));

app.enableSandbox();
if (!app.requestSingleInstanceLock()) app.quit();

void app.whenReady().then(async () => {
  configureLogging(path.join(defaultLogDir(), 'doctune.log'), { process: 'app' });
  log.info('DocTune started', { version: app.getVersion(), electron: process.versions.electron, platform: process.platform, arch: process.arch });
  hardenWebContents();
  const engine = new Engine({
    workspaceDir: path.join(userDataDir(), 'workspaces', 'default'),
    parser: { workerUrl: new URL('./parse-worker.js', import.meta.url) },
    pickPaths,
    openFolder: async (dir) => {
      const failure = await shell.openPath(dir);
      if (failure) throw new DocTuneError('NOT_FOUND', failure, { path: dir });
    },
    warmUp: true,
    watch: true,
    capabilities: { nativeDialogs: true, upload: false },
  });
  registerIpc(engine, isTrustedSender);
  await createWindow(engine);
  app.on('second-instance', () => {
    if (mainWindow?.isMinimized()) mainWindow.restore();
    mainWindow?.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow(engine);
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') void engine.close().finally(() => app.quit());
  });
});
