import { AssetBffClient, AssetBffClientOptions, AssetBffError } from '@asset-bff/client';
import { BffHandle, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

/** Tries before a rate-limit scenario gives up on starting inside a full window (the service's windows are wall-clock seconds). */
const WINDOW_TRIES = 5;

/** API.md section 5: 429 and 503 are retried after Retry-After, at most maxRetries times. */
describe('@asset-bff/client retries', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let limited: BffHandle;
  /** Status and Retry-After of every answer the client got, in order. */
  let answers: { status: number; retryAfter: string | null }[];
  /** The waits the client asked its clock for, in ms. */
  let waits: number[];
  const observed: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    answers.push({ status: res.status, retryAfter: res.headers.get('retry-after') });
    return res;
  };
  const client = (base: BffHandle, opts: Partial<AssetBffClientOptions>) =>
    new AssetBffClient({ baseUrl: base.url, apiKey: TEST_KEYS.reader, fetch: observed, ...opts });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected an AssetBffError');
      },
      (e: unknown) => e as AssetBffError,
    );
  /** Spends the rest of the reader's current one-second window: requests until one is refused. */
  const fillWindow = async () => {
    for (;;) {
      const r = await fetch(`${limited.url}/v1/orgs/o2/users/u0101/assets`, { headers: { 'x-api-key': TEST_KEYS.reader } });
      await r.arrayBuffer();
      if (r.status === 429) return;
    }
  };
  /** Runs a scenario that must start in a full window; a window that ended between fillWindow and the client's request is tried again. */
  const inFullWindow = async (scenario: () => Promise<void>) => {
    for (let i = 0; i < WINDOW_TRIES; i++) {
      answers = [];
      waits = [];
      await fillWindow();
      await scenario();
      if (answers[0].status === 429) return;
    }
    throw new Error(`no request of ${WINDOW_TRIES} started inside a full window`);
  };

  beforeAll(async () => {
    sim = await startSim();
    const redisUrl = await cleanRedisDb(13);
    [bff, limited] = await Promise.all([
      startBff({ sim, env: { REDIS_URL: redisUrl, LOG_LEVEL: 'warn' } }),
      startBff({ sim, env: { REDIS_URL: redisUrl, LOG_LEVEL: 'warn', RATE_LIMIT_PER_S: '3' } }),
    ]);
  });
  afterAll(async () => {
    await bff?.stop();
    await limited?.stop();
    await sim?.stop();
  });
  beforeEach(async () => {
    answers = [];
    waits = [];
    await sim.admin.clearFaults();
  });

  it('retries a 503 after its Retry-After and answers once the portal is back', async () => {
    await sim.admin.setFault('assetList', { httpStatus: 503 });
    const c = client(bff, {
      sleep: async (ms) => {
        waits.push(ms);
        await sim.admin.clearFaults();
      },
    });
    const r = await c.userAssets('o1', 'u0008');
    expect(r.total).toBe(10);
    expect(answers.map((a) => a.status)).toEqual([503, 200]);
    expect(waits).toEqual([Number(answers[0].retryAfter) * 1000]);
  });

  it('gives up after maxRetries retries with the last AssetBffError and its retryAfterS', async () => {
    await sim.admin.setFault('assetList', { httpStatus: 503 });
    const c = client(bff, { maxRetries: 2, sleep: async (ms) => void waits.push(ms) });
    const e = await failure(c.userAssets('o1', 'u0009'));
    expect([e.status, e.code]).toEqual([503, 'UPSTREAM_UNAVAILABLE']);
    expect(answers.map((a) => a.status)).toEqual([503, 503, 503]);
    expect(waits).toEqual(answers.slice(0, 2).map((a) => Number(a.retryAfter) * 1000));
    expect(e.retryAfterS).toBe(Number(answers[2].retryAfter));
    answers = [];
    const none = await failure(client(bff, { maxRetries: 0 }).userAssets('o1', 'u0009'));
    expect(none.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(answers.map((a) => a.status)).toEqual([503]);
  });

  it('does not wait for a Retry-After longer than maxRetryDelayS', async () => {
    await sim.admin.setFault('assetList', { httpStatus: 503 });
    const c = client(bff, { maxRetryDelayS: 0, sleep: async (ms) => void waits.push(ms) });
    const e = await failure(c.userAssets('o1', 'u0010'));
    expect(e.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(answers.map((a) => a.status)).toEqual([503]);
    expect(waits).toEqual([]);
  });

  it('retries a 429 after its Retry-After (the clock really waits) and then answers', async () => {
    await inFullWindow(async () => {
      const c = client(limited, {
        sleep: async (ms) => {
          waits.push(ms);
          await new Promise((r) => setTimeout(r, ms));
        },
      });
      expect((await c.userAssets('o2', 'u0102')).total).toBe(5);
    });
    expect(answers).toEqual([
      { status: 429, retryAfter: '1' },
      { status: 200, retryAfter: null },
    ]);
    expect(waits).toEqual([1000]);
  });

  it('retries a 429 at most maxRetries times', async () => {
    let e: AssetBffError | undefined;
    await inFullWindow(async () => {
      const c = client(limited, {
        maxRetries: 2,
        sleep: async (ms) => {
          waits.push(ms);
          await fillWindow();
        },
      });
      e = await failure(c.userAssets('o2', 'u0102')).catch((err: Error) => err as AssetBffError);
    });
    expect(answers.map((a) => a.status)).toEqual([429, 429, 429]);
    expect(waits).toEqual([1000, 1000]);
    expect([e?.status, e?.code, e?.retryAfterS]).toEqual([429, 'RATE_LIMITED', 1]);
  });
});
