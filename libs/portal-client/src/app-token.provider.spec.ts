import { AppTokenProvider } from './app-token.provider';

describe('AppTokenProvider', () => {
  it('shares one in-flight fetch among concurrent callers', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p = new AppTokenProvider(async () => {
      calls++;
      await gate;
      return { accessToken: `t${calls}`, expireS: 7200 };
    });
    const all = Promise.all(Array.from({ length: 50 }, () => p.get()));
    release();
    expect(new Set(await all)).toEqual(new Set(['t1']));
    expect(calls).toBe(1);
  });

  it('renews 60 s before a long-lived token expires, 10% before a short one', async () => {
    let now = 0;
    let n = 0;
    const p = new AppTokenProvider(
      async () => ({ accessToken: `t${++n}`, expireS: n === 1 ? 7200 : 10 }),
      () => now,
    );
    expect(await p.get()).toBe('t1');
    now = 7_200_000 - 60_001;
    expect(await p.get()).toBe('t1');
    now = 7_200_000 - 60_000;
    expect(await p.get()).toBe('t2');
    const t2At = now;
    now = t2At + 8_999;
    expect(await p.get()).toBe('t2');
    now = t2At + 9_000;
    expect(await p.get()).toBe('t3');
  });

  it('drops a rejected token but keeps a newer one', async () => {
    let n = 0;
    const p = new AppTokenProvider(async () => ({ accessToken: `t${++n}`, expireS: 7200 }));
    expect(await p.get()).toBe('t1');
    p.invalidate('t1');
    expect(await p.get()).toBe('t2');
    p.invalidate('t1');
    expect(await p.get()).toBe('t2');
  });

  it('does not cache a failed fetch', async () => {
    let n = 0;
    const p = new AppTokenProvider(async () => {
      if (++n === 1) throw new Error('boom');
      return { accessToken: 'ok', expireS: 60 };
    });
    await expect(p.get()).rejects.toThrow('boom');
    expect(await p.get()).toBe('ok');
  });
});
