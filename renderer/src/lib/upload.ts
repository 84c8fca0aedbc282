import { ApiError } from './api-error';

export interface UploadItem {
  file: File;
  /** Path relative to what the user picked, e.g. "reports/2024/q1.pdf"; recreated under the upload folder. */
  relativePath: string;
}

/**
 * Browser mode: send files one by one to `POST /upload`, raw body, relative path in a header. XHR rather than
 * fetch because only XHR reports upload progress. Resolves with the paths the engine stored them at.
 */
export async function uploadFiles(
  token: string,
  items: UploadItem[],
  onProgress?: (sentBytes: number, totalBytes: number) => void,
): Promise<string[]> {
  const totalBytes = items.reduce((sum, item) => sum + item.file.size, 0);
  let finishedBytes = 0;
  const stored: string[] = [];
  for (const item of items) {
    stored.push(
      await uploadOne(token, item, (loaded) => onProgress?.(finishedBytes + Math.min(loaded, item.file.size), totalBytes)),
    );
    finishedBytes += item.file.size;
    onProgress?.(finishedBytes, totalBytes);
  }
  return stored;
}

function uploadOne(token: string, item: UploadItem, onLoaded: (bytes: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/upload?token=${encodeURIComponent(token)}`);
    xhr.setRequestHeader('X-DocTune-Path', encodeURIComponent(item.relativePath));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.responseType = 'text';
    xhr.upload.onprogress = (event) => onLoaded(event.loaded);
    xhr.onerror = () => reject(new ApiError('UPLOAD_FAILED', 'network error', item.relativePath));
    xhr.onabort = () => reject(new ApiError('UPLOAD_FAILED', 'aborted', item.relativePath));
    xhr.onload = () => {
      const body = parseJson(xhr.responseText);
      if (xhr.status === 200 && typeof body?.path === 'string') return resolve(body.path);
      const reason = typeof body?.error === 'string' ? body.error : `HTTP ${xhr.status}`;
      reject(new ApiError('UPLOAD_FAILED', reason, item.relativePath));
    };
    xhr.send(item.file);
  });
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * What to import after an upload: a dropped or picked folder is imported as the folder it was stored as, so
 * the engine's folder rules apply exactly as on the desktop (hidden files, README/LICENSE and unsupported
 * types are skipped with a reason); single files are imported as themselves.
 */
export function importTargets(items: UploadItem[], stored: string[]): string[] {
  const targets = new Set<string>();
  items.forEach((item, i) => {
    const path = stored[i];
    if (path === undefined) return;
    const depth = item.relativePath.split('/').filter((s) => s.length > 0).length;
    if (depth <= 1) {
      targets.add(path);
      return;
    }
    // Strip the stored path's last (depth - 1) segments, whatever separator the engine's machine uses.
    const parts = path.split(/(?=[\\/])/);
    targets.add(parts.slice(0, parts.length - (depth - 1)).join(''));
  });
  return [...targets];
}
