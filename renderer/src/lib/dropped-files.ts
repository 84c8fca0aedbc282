import type { UploadItem } from './upload';

/** Hidden files and folders (".git", ".DS_Store") are never documents; skipping them avoids uploading a repo. */
function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/**
 * The files of a drop, folders walked recursively, each with its path relative to what was dropped.
 * Entries must be taken from the DataTransfer synchronously, before the drop handler's first await, because
 * the browser empties it afterwards; hence the split into `entriesOf` and `collectEntries`.
 */
export function entriesOf(dataTransfer: DataTransfer): (FileSystemEntry | File)[] {
  const entries: (FileSystemEntry | File)[] = [];
  for (const item of Array.from(dataTransfer.items)) {
    if (item.kind !== 'file') continue;
    // A DataTransfer built by script (tests, some extensions) has no file-system entries: keep the plain File.
    const entry = item.webkitGetAsEntry() ?? item.getAsFile();
    if (entry) entries.push(entry);
  }
  return entries;
}

export async function collectEntries(entries: (FileSystemEntry | File)[]): Promise<UploadItem[]> {
  const items: UploadItem[] = [];
  for (const entry of entries) {
    if (entry instanceof File) {
      if (!isHidden(entry.name)) items.push({ file: entry, relativePath: entry.name });
    } else {
      await walk(entry, '', items);
    }
  }
  return items;
}

async function walk(entry: FileSystemEntry, parent: string, into: UploadItem[]): Promise<void> {
  if (isHidden(entry.name)) return;
  const relativePath = parent ? `${parent}/${entry.name}` : entry.name;
  if (isFileEntry(entry)) {
    into.push({ file: await fileOf(entry), relativePath });
  } else if (isDirectoryEntry(entry)) {
    for (const child of await readAll(entry)) await walk(child, relativePath, into);
  }
}

function isFileEntry(entry: FileSystemEntry): entry is FileSystemFileEntry {
  return entry.isFile;
}

function isDirectoryEntry(entry: FileSystemEntry): entry is FileSystemDirectoryEntry {
  return entry.isDirectory;
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** `readEntries` returns the children in batches (of 100 in Chromium); keep reading until an empty batch. */
async function readAll(directory: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = directory.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all.sort((a, b) => a.name.localeCompare(b.name));
    all.push(...batch);
  }
}

/** Files from `<input type=file>`: a folder input reports each file's path inside the folder. */
export function itemsFromFileList(files: FileList | File[]): UploadItem[] {
  return Array.from(files)
    .map((file) => ({ file, relativePath: file.webkitRelativePath || file.name }))
    .filter((item) => !item.relativePath.split('/').some(isHidden));
}
