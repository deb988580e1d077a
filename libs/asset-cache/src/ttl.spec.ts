import { jitteredTtlMs, refreshAt } from './ttl';

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
