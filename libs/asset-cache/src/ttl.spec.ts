import { jitteredTtlMs, refreshAt, refreshPoint } from './ttl';

describe('jitteredTtlMs', () => {
  it('shortens the TTL by up to `jitter` of it, driven by the injected random source', () => {
    expect(jitteredTtlMs(300, 0.1, () => 0)).toBe(300_000);
    expect(jitteredTtlMs(300, 0.1, () => 0.5)).toBe(285_000);
    expect(jitteredTtlMs(300, 0.1, () => 0.999999)).toBe(270_000);
  });

  it('spreads keys loaded together over the whole window', () => {
    let i = 0;
    const seq = () => (i++ % 100) / 100;
    const ttls = Array.from({ length: 100 }, () => jitteredTtlMs(100, 0.2, seq));
    expect(Math.min(...ttls)).toBe(80_200);
    expect(Math.max(...ttls)).toBe(100_000);
    expect(new Set(ttls).size).toBe(100);
  });

  it('clamps nonsense jitter instead of producing negative lifetimes', () => {
    expect(jitteredTtlMs(10, 5, () => 0.99)).toBe(100);
    expect(jitteredTtlMs(10, -1, () => 0.99)).toBe(10_000);
    expect(jitteredTtlMs(0, 0.1, () => 0.5)).toBe(0);
  });
});

describe('refreshAt', () => {
  it('opens the refresh-ahead window for the last fraction of the lifetime', () => {
    expect(refreshAt(1_000, 11_000, 0.1)).toBe(10_000);
    expect(refreshAt(0, 300_000, 0)).toBe(300_000);
  });
});

describe('refreshPoint', () => {
  const entry = { loadedAt: 1_000_000, freshUntil: 1_100_000 };
  const points = Array.from({ length: 1_000 }, (_, i) => refreshPoint(`abff:o1:u${i}`, entry));

  it('opens between the last 30% and the last 10% of the fresh lifetime', () => {
    for (const p of points) {
      expect(p).toBeGreaterThanOrEqual(refreshAt(entry.loadedAt, entry.freshUntil, 0.3));
      expect(p).toBeLessThanOrEqual(refreshAt(entry.loadedAt, entry.freshUntil, 0.1));
    }
  });

  it('spreads keys loaded together over that stretch, the same on every call (every instance computes it)', () => {
    const lo = refreshAt(entry.loadedAt, entry.freshUntil, 0.3);
    const tenth = (refreshAt(entry.loadedAt, entry.freshUntil, 0.1) - lo) / 10;
    const perTenth = Array.from({ length: 10 }, (_, d) => points.filter((p) => p >= lo + d * tenth && p < lo + (d + 1) * tenth).length);
    for (const n of perTenth) expect(n).toBeGreaterThan(50);
    expect(points.map((_, i) => refreshPoint(`abff:o1:u${i}`, entry))).toEqual(points);
  });

  it('draws again for each load of a key', () => {
    const later = { loadedAt: entry.loadedAt + 1, freshUntil: entry.freshUntil + 1 };
    const moved = points.filter((p, i) => refreshPoint(`abff:o1:u${i}`, later) !== p + 1).length;
    expect(moved).toBeGreaterThan(900);
  });
});
