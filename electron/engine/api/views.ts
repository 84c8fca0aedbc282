import type { ChunkView, DeviceReport, DocumentSummary } from '../../shared/contract.js';
import type { ChunkRow, DocumentRow } from '../store/schema.js';
import type { DeviceReport as ProbedDevices } from '../train/devices.js';

export function documentSummary(d: DocumentRow): DocumentSummary {
  return {
    id: d.id,
    path: d.path,
    title: d.title,
    format: d.format,
    language: d.language,
    pages: d.pages,
    chunks: d.chunks,
    status: d.status,
    error: d.error,
    sha256: d.sha256,
    importedAt: d.imported_at,
  };
}

export function chunkView(c: ChunkRow): ChunkView {
  return {
    id: c.id,
    documentId: c.document_id,
    ordinal: c.ordinal,
    text: c.text,
    page: c.page,
    heading: c.heading,
    language: c.language,
    tokens: c.tokens,
    ocr: c.ocr === true,
  };
}

/** The probe's report with only the contract's fields (the addon's objects may carry more). */
export function deviceReport(r: ProbedDevices): DeviceReport {
  return {
    devices: r.devices.map((d) => ({
      backend: d.backend,
      name: d.name,
      description: d.description,
      memoryFree: d.memoryFree,
      memoryTotal: d.memoryTotal,
    })),
    notes: r.notes,
    ...(r.cpuKernel ? { cpuKernel: r.cpuKernel } : {}),
  };
}
