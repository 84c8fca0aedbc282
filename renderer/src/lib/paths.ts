/** Display helpers for file paths from either platform ("/" or "\" separators). */

function split(path: string): string[] {
  return path.split(/[\\/]+/);
}

export function baseName(path: string): string {
  return split(path).filter(Boolean).at(-1) ?? path;
}

/**
 * The longest directory shared by all paths, e.g. the upload folder or the folder the user picked; showing
 * paths relative to it keeps long absolute prefixes out of the progress list.
 */
export function commonDirectory(paths: readonly string[]): string[] {
  const first = paths[0];
  if (first === undefined) return [];
  let common = split(first).slice(0, -1);
  for (const path of paths.slice(1)) {
    const parts = split(path).slice(0, -1);
    let shared = 0;
    while (shared < common.length && shared < parts.length && common[shared] === parts[shared]) shared++;
    common = common.slice(0, shared);
  }
  return common;
}

export function relativeTo(path: string, directory: readonly string[]): string {
  const parts = split(path);
  const matches = directory.every((part, i) => parts[i] === part);
  return matches && directory.length > 0 ? parts.slice(directory.length).join('/') : path;
}
