import { CircuitStateName, PortalClient, PortalError, PortalErrorKind } from '@app/portal-client';
import { startSim } from '../support/sim';
import { buildClient, captureLogs, clientOptions, failure, sleep } from './client-harness';

type Sim = Awaited<ReturnType<typeof startSim>>;

describe('PortalClient resilience and gateway auth (real simulator)', () => {
  let sim: Sim;
  const closers: (() => Promise<void>)[] = [];

  /** A fresh client (no token yet) owned by this suite. */
  async function fresh(overrides: Parameters<typeof clientOptions>[1] = {}): Promise<PortalClient> {
    const built = await buildClient(clientOptions(sim, overrides));
    closers.push(built.close);
    return built.client;
  }

  beforeAll(async () => {
    sim = await startSim({ profile: 'test' });
    await sim.admin.createOrg({ orgId: 'o-res', assetCount: 50 });
    await sim.admin.createUser('o-res', { userId: 'u1', assetCount: 5 });
  });

  afterAll(async () => {
    for (const close of closers) await close();
    await sim?.stop();
  });

  beforeEach(async () => {
    await sim.admin.clearFaults();
    await sim.admin.setTokenTtl({ appTokenTtlS: 7_200 });
    await sim.admin.resetCounters();
  });

  it('retries a transient 5xx and succeeds (2 calls)', async () => {
    const client = await fresh();
    await sim.admin.setFault('assetList', { httpStatus: 503, times: 1 });
    const r = await client.getUserAssets('o-res', 'u1');
    expect(r.assets).toHaveLength(5);
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(2);
    expect(client.state()).toEqual({ circuit: 'closed', lastCallOk: true });
  });

  it('retries a dropped connection and a busy gateway (1005)', async () => {
    const client = await fresh();
    await sim.admin.setFault('assetList', { drop: true, times: 1 });
    expect((await client.getUserAssets('o-res', 'u1')).assets).toHaveLength(5);
    await sim.admin.setFault('assetList', { errorCode: 1005, times: 2 });
    expect((await client.getUserAssets('o-res', 'u1')).assets).toHaveLength(5);
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(2 + 3);
  });

  it('does not retry a 31404 (1 call)', async () => {
    const client = await fresh();
    await expect(client.getUserAssets('o-res', 'ghost')).rejects.toMatchObject({ kind: PortalErrorKind.NotFound });
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(1);
    expect(client.state()).toEqual({ circuit: 'closed', lastCallOk: true });
  });

  it('maps a missing app permission (31403) to PermissionMissing without retrying', async () => {
    const client = await fresh();
    await sim.admin.setAppPermission(false);
    try {
      await expect(client.getUsersAssets('o-res', ['u1'])).rejects.toMatchObject({ kind: PortalErrorKind.PermissionMissing, upstreamCode: 31403 });
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(1);
    } finally {
      await sim.admin.setAppPermission(true);
    }
  });

  it('gives up after the retries on a hanging portal with Timeout', async () => {
    const client = await fresh({ timeoutMs: 200, retries: 1 });
    await client.getUserAssets('o-res', 'u1');
    await sim.admin.setFault('assetList', { hang: true });
    await sim.admin.resetCounters();
    const started = Date.now();
    await expect(client.getUserAssets('o-res', 'u1')).rejects.toMatchObject({ kind: PortalErrorKind.Timeout });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(2);
  });

  it('opens the circuit on a failing portal, fails fast while open, closes after halfOpenAfter', async () => {
    const states: CircuitStateName[] = [];
    const outcomes: string[] = [];
    const client = await fresh({
      circuitFailures: 5,
      circuitHalfOpenAfterMs: 1_000,
      retries: 2,
      observer: { onCircuitState: (s) => states.push(s), onCall: (endpoint, outcome) => outcomes.push(`${endpoint}:${outcome}`) },
    });
    await client.getUserAssets('o-res', 'u1'); // token in hand
    await sim.admin.setFault('*', { httpStatus: 503 });
    await sim.admin.resetCounters();

    // 3 attempts, then 2 more: the 5th consecutive failure opens the circuit.
    await expect(client.getUserAssets('o-res', 'u1')).rejects.toMatchObject({ kind: PortalErrorKind.Unavailable });
    await expect(client.getUserAssets('o-res', 'u1')).rejects.toMatchObject({ kind: PortalErrorKind.Unavailable });
    expect(client.state()).toEqual({ circuit: 'open', lastCallOk: false });
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(5);

    const err = await failure(client.getUserAssets('o-res', 'u1'));
    expect(err).toBeInstanceOf(PortalError);
    expect(err).toMatchObject({ kind: PortalErrorKind.Unavailable, retryAfterS: 1 });
    await expect(client.getUsersAssets('o-res', ['u1'])).rejects.toMatchObject({ kind: PortalErrorKind.Unavailable });
    const counters = await sim.admin.counters();
    expect(counters.endpoints.assetList.calls).toBe(5);
    expect(counters.endpoints.usersAssetList.calls).toBe(0);

    await sim.admin.clearFaults();
    await sleep(1_100);
    expect((await client.getUserAssets('o-res', 'u1')).assets).toHaveLength(5);
    expect(client.state()).toEqual({ circuit: 'closed', lastCallOk: true });
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(outcomes.filter((o) => o === 'assetList:unavailable')).toHaveLength(5);
  });

  it('fetches exactly one gateway token for 50 concurrent calls', async () => {
    const client = await fresh();
    const results = await Promise.all(Array.from({ length: 50 }, () => client.getUserAssets('o-res', 'u1')));
    expect(results.every((r) => r.assets.length === 5)).toBe(true);
    const counters = await sim.admin.counters();
    expect(counters.endpoints.tokenGet.calls).toBe(1);
    expect(counters.endpoints.assetList.calls).toBe(50);
  });

  it('renews a gateway token that expired (appTokenTtlS: 1) once, and the call succeeds', async () => {
    const client = await fresh();
    await sim.admin.setTokenTtl({ appTokenTtlS: 1 });
    await client.getUserAssets('o-res', 'u1');
    await sleep(1_200);
    await sim.admin.resetCounters();
    expect((await client.getUserAssets('o-res', 'u1')).assets).toHaveLength(5);
    const counters = await sim.admin.counters();
    expect(counters.endpoints.tokenGet.calls).toBe(1);
    expect(counters.endpoints.assetList.calls).toBe(1);
  });

  it('answers a 1203 from the gateway with one new token and one resend', async () => {
    const client = await fresh();
    await client.getUserAssets('o-res', 'u1');
    // The gateway now considers every issued token expired, while the client still trusts its own.
    await sim.admin.expireAppTokens();
    await sim.admin.resetCounters();
    expect((await client.getUserAssets('o-res', 'u1')).assets).toHaveLength(5);
    const counters = await sim.admin.counters();
    expect(counters.endpoints.tokenGet.calls).toBe(1);
    expect(counters.endpoints.assetList.calls).toBe(2);
    expect(counters.log.filter((c) => c.endpoint === 'assetList').map((c) => c.outcome)).toEqual([1203, 0]);
  });

  it('reports wrong app credentials as Unavailable without retrying or leaking the secret', async () => {
    const secret = 'definitely-wrong-secret-value';
    const client = await fresh({ appSecret: secret });
    const logs = captureLogs();
    const err = await failure(client.getUserAssets('o-res', 'u1'));
    logs.restore();
    expect(logs.lines.some((l) => l.includes('rejected the app credentials (code 1003)'))).toBe(true);
    expect(logs.lines.join('\n')).not.toContain(secret);
    expect(err).toBeInstanceOf(PortalError);
    expect(err.kind).toBe(PortalErrorKind.Unavailable);
    expect(err.upstreamCode).toBe(1003);
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain(secret);
    const counters = await sim.admin.counters();
    expect(counters.endpoints.tokenGet.calls).toBe(1);
    expect(counters.endpoints.assetList.calls).toBe(0);
  });

  it('fails fast with Unavailable when the portal is unreachable', async () => {
    const client = await fresh({ baseUrl: 'http://127.0.0.1:1', retries: 1 });
    await expect(client.getUserAssets('o-res', 'u1')).rejects.toMatchObject({ kind: PortalErrorKind.Unavailable });
    expect(client.state().lastCallOk).toBe(false);
  });
});
