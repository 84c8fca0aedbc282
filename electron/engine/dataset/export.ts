import fs from 'node:fs/promises';
import path from 'node:path';
import type { QaPairRow } from '../store/schema.js';
import { writeFileAtomic } from '../store/atomic-write.js';

export type ExportFormat = 'alpaca' | 'sharegpt' | 'messages';

/**
 * Write pairs as Alpaca JSON, ShareGPT JSON or OpenAI-messages JSONL, with a LLaMA-Factory
 * dataset_info.json beside the file so the set can be trained elsewhere too. `doctune dataset import`
 * reads all three back.
 */
export async function exportPairs(pairs: QaPairRow[], format: ExportFormat, file: string): Promise<void> {
  let body: string;
  switch (format) {
    case 'alpaca':
      body = JSON.stringify(pairs.map((p) => ({ instruction: p.question, input: '', output: p.answer })), null, 2);
      break;
    case 'sharegpt':
      body = JSON.stringify(pairs.map((p) => ({ conversations: [{ from: 'human', value: p.question }, { from: 'gpt', value: p.answer }] })), null, 2);
      break;
    case 'messages':
      body = pairs.map((p) => JSON.stringify({ messages: [{ role: 'user', content: p.question }, { role: 'assistant', content: p.answer }] })).join('\n') + (pairs.length ? '\n' : '');
      break;
  }
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, body);
  const name = path.basename(file);
  const info =
    format === 'alpaca'
      ? { file_name: name, columns: { prompt: 'instruction', query: 'input', response: 'output' } }
      : format === 'sharegpt'
        ? { file_name: name, formatting: 'sharegpt', columns: { messages: 'conversations' } }
        : { file_name: name, formatting: 'sharegpt', columns: { messages: 'messages' }, tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant' } };
  await fs.writeFile(path.join(path.dirname(path.resolve(file)), 'dataset_info.json'), JSON.stringify({ doctune: info }, null, 2));
}
