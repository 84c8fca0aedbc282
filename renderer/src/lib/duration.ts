/** A time left, broken into the units a person reads ("2 h 5 min", "3 min 20 s", "45 s"). */
export type Duration = { unit: 'seconds'; s: number } | { unit: 'minutes'; m: number; s: number } | { unit: 'hours'; h: number; m: number };

export function durationParts(seconds: number): Duration {
  const total = Math.max(0, Math.round(Number.isFinite(seconds) ? seconds : 0));
  if (total < 60) return { unit: 'seconds', s: total };
  if (total < 3600) return { unit: 'minutes', m: Math.floor(total / 60), s: total % 60 };
  // Hours: seconds no longer matter, minutes are rounded.
  const minutes = Math.round(total / 60);
  return { unit: 'hours', h: Math.floor(minutes / 60), m: minutes % 60 };
}
