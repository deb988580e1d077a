import { ApimHeaders, GatewayCode, PortalPaths, TokenReply, requestSignature, signingParams, tokenEncryption } from '@app/portal-contracts';
import { SimHandle, appToken, signedCall, startSim } from '../support/sim';

describe('portal-sim: APIM gateway', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.admin.reset());

  const tokenCall = async (path: string, body: unknown): Promise<TokenReply> => {
    const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return (await res.json()) as TokenReply;
  };
  const listBody = { userId: 'u0005', orgId: 'o1' };

  it('token/get answers the documented envelope for a correct encryption', async () => {
    const timestamp = Date.now();
    const reply = await tokenCall(PortalPaths.tokenGet, { appKey: sim.appKey, encryption: tokenEncryption(sim.appKey, timestamp, sim.appSecret), timestamp });
    expect(reply).toEqual({ status: 0, msg: 'SUCCESS', data: { accessToken: expect.any(String), expire: 7200 } });
  });

  it('token/get: unknown appKey is 1002, an encryption made with the wrong secret is 1003', async () => {
    const timestamp = Date.now();
    const unknown = await tokenCall(PortalPaths.tokenGet, { appKey: 'nope', encryption: tokenEncryption('nope', timestamp, sim.appSecret), timestamp });
    expect(unknown).toMatchObject({ status: GatewayCode.UnknownAppKey, data: null });
    const bad = await tokenCall(PortalPaths.tokenGet, { appKey: sim.appKey, encryption: tokenEncryption(sim.appKey, timestamp, 'wrong-secret'), timestamp });
    expect(bad).toMatchObject({ status: GatewayCode.BadEncryption, data: null });
  });

  it('token/refresh returns a new working token and retires the old one', async () => {
    const old = await appToken(sim);
    const timestamp = Date.now();
    const reply = await tokenCall(PortalPaths.tokenRefresh, {
      appKey: sim.appKey,
      encryption: tokenEncryption(sim.appKey, timestamp, sim.appSecret),
      timestamp,
      accessToken: old,
    });
    expect(reply.status).toBe(0);
    expect(reply.data!.accessToken).not.toBe(old);
    expect((await signedCall(sim, 'POST', PortalPaths.assetList, { body: listBody, appToken: reply.data!.accessToken })).body.code).toBe(0);
    const stale = await signedCall(sim, 'POST', PortalPaths.assetList, { body: listBody, appToken: old });
    expect(stale).toEqual({ status: 401, body: { code: GatewayCode.InvalidAccessToken, message: expect.any(String), data: null } });
  });

  it('a correctly signed call passes', async () => {
    const res = await signedCall(sim, 'POST', PortalPaths.assetList, { body: listBody });
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(0);
  });

  it('an unknown access token is 1201 and missing headers are rejected', async () => {
    const res = await signedCall(sim, 'POST', PortalPaths.assetList, { body: listBody, appToken: 'not-a-token' });
    expect(res).toEqual({ status: 401, body: { code: GatewayCode.InvalidAccessToken, message: expect.any(String), data: null } });
    const bare = await fetch(`${sim.url}${PortalPaths.assetList}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(listBody),
    });
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { code: number }).code).toBe(GatewayCode.InvalidAccessToken);
  });

  it('a tampered body fails the signature (1004)', async () => {
    const token = await appToken(sim);
    const signedText = JSON.stringify(listBody);
    const timestamp = Date.now();
    const signature = requestSignature(token, signingParams({}, signedText), timestamp, sim.appSecret);
    const send = (text: string) =>
      fetch(`${sim.url}${PortalPaths.assetList}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [ApimHeaders.accessToken]: token,
          [ApimHeaders.timestamp]: String(timestamp),
          [ApimHeaders.signature]: signature,
        },
        body: text,
      });
    expect((await send(signedText)).status).toBe(200);
    const tampered = await send(JSON.stringify({ ...listBody, userId: 'u0001' }));
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toEqual({ code: GatewayCode.BadSignature, message: expect.any(String), data: null });
    // Same JSON value, different bytes: the signature covers the raw body exactly as sent.
    const reformatted = await send(JSON.stringify(listBody, null, 2));
    expect(reformatted.status).toBe(401);
  });

  it('a tampered query fails the signature (1004)', async () => {
    const token = await appToken(sim);
    const userJwt = await sim.admin.userToken('u0101', 'o2');
    const query = { accessKey: sim.accessKey, resourceTypes: 'inverter' };
    const timestamp = Date.now();
    const signature = requestSignature(token, signingParams(query, undefined), timestamp, sim.appSecret);
    const get = (qs: string) =>
      fetch(`${sim.url}${PortalPaths.appAssetTree}?${qs}`, {
        headers: {
          authorization: `Bearer ${userJwt}`,
          [ApimHeaders.accessToken]: token,
          [ApimHeaders.timestamp]: String(timestamp),
          [ApimHeaders.signature]: signature,
        },
      });
    const good = await get(`resourceTypes=inverter&accessKey=${sim.accessKey}`);
    expect(good.status).toBe(200);
    expect(((await good.json()) as { code: number }).code).toBe(0);
    const tampered = await get(`accessKey=${sim.accessKey}&resourceTypes=meter`);
    expect(tampered.status).toBe(401);
    expect(((await tampered.json()) as { code: number }).code).toBe(GatewayCode.BadSignature);
  });

  it('a token expires after its TTL (1203)', async () => {
    await sim.admin.setTokenTtl({ appTokenTtlS: 1 });
    const timestamp = Date.now();
    const reply = await tokenCall(PortalPaths.tokenGet, { appKey: sim.appKey, encryption: tokenEncryption(sim.appKey, timestamp, sim.appSecret), timestamp });
    expect(reply.data!.expire).toBe(1);
    const token = reply.data!.accessToken;
    expect((await signedCall(sim, 'POST', PortalPaths.assetList, { body: listBody, appToken: token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100));
    const expired = await signedCall(sim, 'POST', PortalPaths.assetList, { body: listBody, appToken: token });
    expect(expired).toEqual({ status: 401, body: { code: GatewayCode.TokenExpired, message: expect.any(String), data: null } });
  });

  it('tokens/expire expires every token issued so far', async () => {
    const token = await appToken(sim);
    await sim.admin.expireAppTokens();
    expect((await signedCall(sim, 'POST', PortalPaths.assetList, { body: listBody, appToken: token })).body.code).toBe(GatewayCode.TokenExpired);
    expect((await signedCall(sim, 'POST', PortalPaths.assetList, { body: listBody })).body.code).toBe(0);
  });
});
