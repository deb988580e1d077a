import { hash } from 'node:crypto';
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
  const u = hash('sha1', `${key}|${e.loadedAt}`, 'buffer').readUInt32BE(0) / 2 ** 32;
  return refreshAt(e.loadedAt, e.freshUntil, REFRESH_AHEAD_MIN_FRACTION + (REFRESH_AHEAD_MAX_FRACTION - REFRESH_AHEAD_MIN_FRACTION) * u);
}
