/**
 * llama.cpp says why a model does not load only to its logger: node-llama-cpp's error is a bare "Failed to
 * load model". The worker processes keep llama.cpp's last error lines to put the reason in their message.
 */
import { LlamaLogLevel } from 'node-llama-cpp';

const lines: string[] = [];

export function llamaLogger(level: LlamaLogLevel, message: string): void {
  if (level !== LlamaLogLevel.error && level !== LlamaLogLevel.fatal) return;
  const line = message.trim();
  if (!line) return;
  lines.push(line);
  if (lines.length > 8) lines.shift();
}

/** The last two error lines, joined; empty if llama.cpp logged none. */
export function llamaErrors(): string {
  return lines.slice(-2).join('; ');
}
