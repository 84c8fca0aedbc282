/**
 * The passages a question is answered with (RAG): one search, the same number of passages, for the app's
 * chat, the CLI's chat and evaluation, so that a score is measured on the chat users get.
 */
import type { SearchHit } from '../../shared/contract.js';
import { Embedder } from '../models/embedder.js';
import { searchWorkspace } from '../store/search.js';
import type { Workspace } from '../store/workspace.js';

/** Passages given to the model with each question. */
export const RAG_PASSAGES = 3;

/** The workspace's passages for a question: full-text, and by vector too when the workspace has an embedding model. */
export function retrievePassages(ws: Workspace, question: string, embedder: Embedder | null): Promise<SearchHit[]> {
  return searchWorkspace(ws, question, RAG_PASSAGES, embedder);
}

/**
 * The embedding model the workspace's settings name, loaded for one command (the app and browser mode keep
 * one loaded instead); null when the workspace searches by text only. The caller disposes it.
 */
export async function openWorkspaceEmbedder(ws: Workspace, threads?: number): Promise<Embedder | null> {
  const model = ws.settings.embeddingModel;
  return model ? Embedder.load(model, threads ? { threads } : {}) : null;
}
