import type { QaPairView } from '$shared/contract';
import { t } from './i18n.svelte';

const KNOWN_SOURCES = ['extractive', 'local', 'api', 'import'] as const;
type KnownSource = (typeof KNOWN_SOURCES)[number];

function isKnownSource(source: string): source is KnownSource {
  return (KNOWN_SOURCES as readonly string[]).includes(source);
}

/** Where pairs came from, in the UI language; a source this version does not know is shown as the engine names it. */
export function sourceLabel(source: string): string {
  return isKnownSource(source) ? t(`qa.source.${source}`) : source;
}

/** A pair's source with the model that taught it, when one did ("API · gpt-4o-mini"). */
export function pairSourceLabel(pair: Pick<QaPairView, 'source' | 'teacher'>): string {
  const label = sourceLabel(pair.source);
  return pair.teacher ? `${label} · ${pair.teacher}` : label;
}
