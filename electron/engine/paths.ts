import os from 'node:os';
import path from 'node:path';

/** Same folder Electron's app.getPath('userData') gives for "DocTune", so the CLI and the app share it. */
export function userDataDir(): string {
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'DocTune');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'DocTune');
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'DocTune');
}

export function defaultWorkspaceDir(): string {
  return process.env.DOCTUNE_WORKSPACE ?? path.join(userDataDir(), 'workspaces', 'default');
}
