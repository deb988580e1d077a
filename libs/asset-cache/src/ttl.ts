/** Fresh lifetime in ms with a random spread: up to `jitter` of it shorter, never negative. */
export function jitteredTtlMs(ttlS: number, jitter: number, random: () => number): number {
  const base = ttlS * 1000;
  const spread = Math.min(Math.max(jitter, 0), 1);
  return Math.max(0, Math.round(base * (1 - spread * random())));
}

/** The moment from which a hit starts a background refresh: the last `fraction` of the fresh lifetime. */
export function refreshAt(loadedAt: number, freshUntil: number, fraction: number): number {
  return freshUntil - (freshUntil - loadedAt) * fraction;
}
