/**
 * A JSON record the engine writes and reads back (run.json, pipeline.json, a workspace's added adapters):
 * one zod schema with a `version`, parsed on every read (a damaged record is an error naming the file and
 * the field, never a half-read object), older versions brought up to date, and validated before it is
 * written, atomically, so that a record that would not read back is never written.
 */
import fs from 'node:fs/promises';
import type { z } from 'zod';
import { writeFileAtomic } from './atomic-write.js';
import { DocTuneError } from './errors.js';

export interface RecordFormat<S extends z.ZodType> {
  /** A record parsed from JSON (already read), migrated to this version. */
  parse(raw: unknown, file: string): z.output<S>;
  /** The record in `file`, or null when there is none. */
  read(file: string): Promise<z.output<S> | null>;
  /** Validated, then written atomically (pretty-printed, one trailing newline). */
  write(file: string, value: Omit<z.input<S>, 'version'>): Promise<z.output<S>>;
}

/**
 * `name` is the file name the errors use; `migrate` brings a record of an older version (or of none: records
 * from before versions) to `version`. By default a record without a version is taken as version 1.
 */
export function recordFormat<S extends z.ZodType>(name: string, schema: S, version: number, migrate?: (raw: Record<string, unknown>) => unknown): RecordFormat<S> {
  const damaged = (file: string, reason: string, cause?: unknown): DocTuneError =>
    new DocTuneError('WORKSPACE', `${name} is damaged: ${reason}`, { path: file, ...(cause === undefined ? {} : { cause }) });
  const parse = (raw: unknown, file: string): z.output<S> => {
    const obj = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
    const migrated = obj && obj.version !== version ? (migrate ? migrate(obj) : 'version' in obj ? obj : { ...obj, version }) : raw;
    const parsed = schema.safeParse(migrated);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw damaged(file, issue ? `${issue.path.join('.') || 'record'}: ${issue.message}` : 'not a record of this kind');
    }
    return parsed.data;
  };
  return {
    parse,
    async read(file) {
      let text: string;
      try {
        text = await fs.readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new DocTuneError('WORKSPACE', `cannot read ${name}: ${(err as Error).message}`, { path: file, cause: err });
      }
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (err) {
        throw damaged(file, (err as Error).message, err);
      }
      return parse(raw, file);
    },
    async write(file, value) {
      const valid = schema.parse({ ...value, version });
      await writeFileAtomic(file, `${JSON.stringify(valid, null, 2)}\n`);
      return valid;
    },
  };
}
