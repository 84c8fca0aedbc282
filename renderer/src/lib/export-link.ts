/**
 * Where browser mode downloads an exported training set from: the engine serves its exports folder by file
 * name, to holders of the page's access token (the same token as the WebSocket).
 */
export function exportDownloadHref(fileName: string, token: string): string {
  return `/export/${encodeURIComponent(fileName)}?token=${encodeURIComponent(token)}`;
}
