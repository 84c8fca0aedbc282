/**
 * The device probe's notes ("cuda unavailable (libcublas.so.13: cannot open shared object file…); cuda
 * unavailable (libcudart.so.12: …); vulkan: no device found") as one finding per kind of GPU, in words a
 * person reads: ggml tries each library of a kind (CUDA 13, then 12), so one kind can fail more than once.
 */
export type GpuKind = 'cuda' | 'vulkan' | 'metal' | 'other';

/** Why a kind of GPU cannot be used, most telling first. */
export type NoteReason = 'noDriver' | 'noRuntime' | 'noDevice' | 'notStarted' | 'notLoaded' | 'other';
const RANK: readonly NoteReason[] = ['noDriver', 'noRuntime', 'noDevice', 'notStarted', 'notLoaded', 'other'];
const KIND_ORDER: readonly GpuKind[] = ['cuda', 'vulkan', 'metal', 'other'];

export interface DeviceNote {
  kind: GpuKind;
  reason: NoteReason;
  /** The library's own words, for the disclosure. */
  details: string[];
}

/** What a library's loader said, read for the part a person can act on. */
function reasonOf(kind: GpuKind, why: string): NoteReason {
  if (/did not initiali[sz]e/i.test(why)) return 'notStarted';
  if (kind === 'cuda' && /libcuda\.so|nvcuda\.dll|libcuda\.dylib/i.test(why)) return 'noDriver';
  if (kind === 'cuda' && /cudart|cublas|cudnn|cuda.*\.(so|dll)/i.test(why)) return 'noRuntime';
  if (kind === 'vulkan' && /vulkan[-.]?1?\.(so|dll|dylib)|libvulkan/i.test(why)) return 'noDriver';
  return 'notLoaded';
}

function parse(note: string): { kind: GpuKind; reason: NoteReason } {
  const unavailable = /^(cuda|vulkan|metal) unavailable \((.*)\)$/is.exec(note);
  if (unavailable) {
    const kind = unavailable[1]!.toLowerCase() as GpuKind;
    return { kind, reason: reasonOf(kind, unavailable[2]!) };
  }
  const none = /^(cuda|vulkan|metal): no device found$/i.exec(note);
  if (none) return { kind: none[1]!.toLowerCase() as GpuKind, reason: 'noDevice' };
  return { kind: 'other', reason: 'other' };
}

export function deviceNotes(notes: string): DeviceNote[] {
  const byKind = new Map<GpuKind, DeviceNote>();
  for (const note of notes.split(/;\s+/).map((n) => n.trim()).filter(Boolean)) {
    const { kind, reason } = parse(note);
    const found = byKind.get(kind);
    if (!found) byKind.set(kind, { kind, reason, details: [note] });
    else {
      found.details.push(note);
      if (RANK.indexOf(reason) < RANK.indexOf(found.reason)) found.reason = reason;
    }
  }
  return [...byKind.values()].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
}
