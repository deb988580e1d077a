import { REFRESH_AHEAD_MAX_FRACTION, REFRESH_AHEAD_MIN_FRACTION } from './asset-cache.constants';

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

/**
 * The refresh point of one load of a key: its window opens somewhere between the last REFRESH_AHEAD_MIN_FRACTION and
 * REFRESH_AHEAD_MAX_FRACTION of the fresh lifetime, at a point drawn from the key and the load time. Every instance
 * computes the same point, and users loaded together (a batch warm) refresh over a stretch of time instead of in one
 * burst of portal calls.
 */
export function refreshPoint(key: string, e: { loadedAt: number; freshUntil: number }): number {
  const u = spreadOf(`${key}|${e.loadedAt}`);
  return refreshAt(e.loadedAt, e.freshUntil, REFRESH_AHEAD_MIN_FRACTION + (REFRESH_AHEAD_MAX_FRACTION - REFRESH_AHEAD_MIN_FRACTION) * u);
}

/**
 * A number in [0, 1) drawn from a string: 32-bit FNV-1a, then MurmurHash3's finalizer so that keys differing in one
 * character land far apart. Written here rather than a crypto hash: it runs for every user of a batch, where a
 * call into OpenSSL per key costs more than the rest of keeping the user's copy, and a spread needs no secrecy.
 */
function spreadOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}
