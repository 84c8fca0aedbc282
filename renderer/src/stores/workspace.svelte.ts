import type { Capabilities, OcrSetting, WorkspaceInfo } from '$shared/contract';
import { getApi, isBrowserMode } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

/** Workspace facts for the header, and what this window can do (native dialogs or uploads). */
class WorkspaceStore {
  info = $state.raw<WorkspaceInfo | null>(null);
  // A guess from the door we came through, replaced by the engine's answer once it arrives.
  capabilities = $state.raw<Capabilities>({ nativeDialogs: !isBrowserMode(), upload: isBrowserMode() });
  problem = $state.raw<Problem | null>(null);

  async refresh(): Promise<void> {
    const api = getApi();
    try {
      const [info, capabilities] = await Promise.all([
        api.invoke('workspace.info', {}),
        api.invoke('app.capabilities', {}),
      ]);
      this.info = info;
      this.capabilities = capabilities;
      this.problem = null;
    } catch (err) {
      this.problem = problemOf(err);
    }
  }

  /** How scanned pages and images are read from the next import on (kept in the workspace). */
  async setOcr(ocr: OcrSetting): Promise<void> {
    try {
      this.info = await getApi().invoke('workspace.setOcr', { ocr });
      this.problem = null;
    } catch (err) {
      this.problem = problemOf(err);
    }
  }
}

export const workspace = new WorkspaceStore();
