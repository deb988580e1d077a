import { HttpService } from '@nestjs/axios';
import { ConsoleLogger, Logger, LoggerService } from '@nestjs/common';
import type { AxiosRequestConfig } from 'axios';
import { ApimHeaders, PortalPaths, requestSignature, signingParams } from '@app/portal-contracts';
import { PortalClient } from './portal-client.service';
import { PortalClientOptions, PortalErrorKind } from './portal-client.types';

type Reply = { status?: number; data: unknown };
type Handler = (path: string, body: any, config: AxiosRequestConfig) => Reply | Promise<Reply>;

const SECRET = 'unit-secret';

/** A PortalClient over a scripted axios: token/get answers a token, everything else goes to `handler`. */
function clientWith(handler: Handler, overrides: Partial<PortalClientOptions> = {}) {
  const calls: { path: string; body: any; config: AxiosRequestConfig }[] = [];
  const request = jest.fn(async (config: AxiosRequestConfig) => {
    const path = String(config.url).split('?')[0];
    const body = typeof config.data === 'string' ? JSON.parse(config.data) : undefined;
    calls.push({ path, body, config });
    if (path === PortalPaths.tokenGet)
      return { status: 200, headers: {}, data: { status: 0, msg: 'SUCCESS', data: { accessToken: 'app-token', expire: 7200 } } };
    const r = await handler(path, body, config);
    return { status: r.status ?? 200, headers: {}, data: r.data };
  });
  const http = { axiosRef: { request, defaults: {} } } as unknown as HttpService;
  const options: PortalClientOptions = {
    baseUrl: 'http://portal',
    appKey: 'k',
    appSecret: SECRET,
    timeoutMs: 1_000,
    concurrency: 4,
    batchSize: 2,
    pageSize: 2,
    retryBaseDelayMs: 1,
    ...overrides,
  };
  return { client: new PortalClient(options, http), calls };
}

const page = (pageNo: number, total: number, ids: string[]) => ({
  code: 0,
  message: 'OK',
  data: { pagination: { pageNo, pageSize: 2, totalElements: total }, assets: ids.map((id) => ({ id, name: { default: id } })) },
});

/** Every line the client logs, whatever the level. */
const logged: string[] = [];
/** A line's message and its fields (a leading object, as JSON), each an entry; the trailing context left out. */
const push = (m: unknown, ...rest: unknown[]): void =>
  void logged.push(...[m, ...rest.slice(0, -1)].map((x) => (typeof x === 'string' ? x : JSON.stringify(x))));
const capture: LoggerService = {
  log: push,
  error: push,
  warn: push,
  debug: push,
  verbose: push,
};

describe('PortalClient (scripted upstream)', () => {
  beforeAll(() => Logger.overrideLogger(capture));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  afterEach(() => {
    // Whatever happened, no log line carries the app secret, the app token or the user token.
    for (const line of logged) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain('app-token');
      expect(line).not.toContain('user-token-xyz');
    }
    logged.length = 0;
  });

  it('logs method, path, status and duration of every outbound call at debug level', async () => {
    const { client } = clientWith(() => ({ data: { code: 0, data: { id: 'root' } } }));
    await client.getAppAssetTree('user-token-xyz', 'secret-access-key', { associated: false });
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^POST \/apim-token-service\/v2\.0\/token\/get 200 \d+\.\dms$/),
        expect.stringMatching(/^GET \/app-portal-service\/v2\.2\/user\/app\/asset\/tree 200 \d+\.\dms$/),
      ]),
    );
    expect(logged.join('\n')).not.toContain('secret-access-key');
  });

  it('sends the request id of the caller as X-Request-Id and puts it in the call log lines', async () => {
    const { client, calls } = clientWith(() => ({ data: page(0, 1, ['a']) }), { requestId: () => 'req-42' });
    await client.getUserAssets('o', 'u');
    for (const c of calls) expect((c.config.headers as Record<string, string>)['x-request-id']).toBe('req-42');
    expect(logged.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { requestId?: string })).toEqual(
      expect.arrayContaining([expect.objectContaining({ requestId: 'req-42', endpoint: 'assetList' })]),
    );
    // Without tracing nothing else is added to what the portal gets.
    for (const c of calls) expect((c.config.headers as Record<string, string>).traceparent).toBeUndefined();
  });

  it('signs the body text exactly as sent', async () => {
    const { client, calls } = clientWith(() => ({ data: page(0, 1, ['a']) }));
    await client.getUserAssets('o', 'u');
    const call = calls.find((c) => c.path === PortalPaths.assetList)!;
    const headers = call.config.headers as Record<string, string>;
    expect(call.body).toEqual({ userId: 'u', orgId: 'o', pagination: { pageNo: 0, pageSize: 2 } });
    expect(headers['content-type']).toBe('application/json');
    expect(headers[ApimHeaders.signature]).toBe(
      requestSignature('app-token', signingParams({}, call.config.data as string), headers[ApimHeaders.timestamp], SECRET),
    );
  });

  it('answers complete: false when the pages keep changing after one re-read', async () => {
    let total = 4;
    const { client, calls } = clientWith((_p, body) => {
      const pageNo = body.pagination.pageNo;
      // Every read sees one more asset: the total never holds still.
      total += 1;
      return { data: page(pageNo, total, [`a${pageNo * 2}`, `a${pageNo * 2 + 1}`]) };
    });
    const r = await client.getUserAssets('o', 'u');
    expect(r.complete).toBe(false);
    expect(new Set(r.assets.map((a) => a.id)).size).toBe(r.assets.length);
    const pagesRead = calls.filter((c) => c.path === PortalPaths.assetList).map((c) => c.body.pagination.pageNo);
    expect(pagesRead).toEqual([0, 1, 2, 0, 1, 2, 3]);
  });

  it('accepts the legacy success code 200 and reads an error envelope sent with HTTP 200', async () => {
    const ok = clientWith(() => ({ data: { ...page(0, 1, ['a']), code: 200 } }));
    expect((await ok.client.getUserAssets('o', 'u')).assets).toHaveLength(1);
    const err = clientWith(() => ({ status: 200, data: { code: 31512, message: 'Selecting an OU is required', data: null } }));
    await expect(err.client.getUserAssets('o', 'u')).rejects.toMatchObject({ kind: PortalErrorKind.OuNotSelected, upstreamCode: 31512 });
  });

  it('turns a malformed body into BadResponse', async () => {
    const { client } = clientWith(() => ({ data: '<html>oops</html>' }));
    await expect(client.getUserAssets('o', 'u')).rejects.toMatchObject({ kind: PortalErrorKind.BadResponse });
    const tree = clientWith(() => ({ data: { code: 0, data: { name: 'no id' } } }));
    await expect(tree.client.getAppAssetTree('user-token-xyz', 'ak', { associated: false })).rejects.toMatchObject({ kind: PortalErrorKind.BadResponse });
  });

  it('merges chunks: request order, duplicates folded, omitted users empty, asset details once', async () => {
    const { client, calls } = clientWith((_p, body) => ({
      data: {
        code: 0,
        data: {
          usersUserAssets: body.userIds.filter((u: string) => u !== 'u3').map((u: string) => ({ userId: u, userAssetIds: ['shared', `own-${u}`] })),
          userAssets: [
            { id: 'shared', name: { default: 'S' }, type: 't', typeName: {} },
            ...body.userIds.map((u: string) => ({ id: `own-${u}`, name: {}, type: 't', typeName: {} })),
          ],
        },
      },
    }));
    const r = await client.getUsersAssets('o', ['u1', 'u2', 'u1', 'u3', 'u4']);
    expect(calls.filter((c) => c.path === PortalPaths.usersAssetList).map((c) => c.body.userIds)).toEqual([
      ['u1', 'u2'],
      ['u3', 'u4'],
    ]);
    expect(r.users).toEqual([
      { userId: 'u1', userAssetIds: ['shared', 'own-u1'] },
      { userId: 'u2', userAssetIds: ['shared', 'own-u2'] },
      { userId: 'u3', userAssetIds: [] },
      { userId: 'u4', userAssetIds: ['shared', 'own-u4'] },
    ]);
    expect(r.assets.map((a) => a.id)).toEqual(['shared', 'own-u1', 'own-u2', 'own-u3', 'own-u4']);
  });

  it('sends the user token and needAssociatedAsset on the tree, signing the sorted query', async () => {
    const { client, calls } = clientWith(() => ({ data: { code: 0, data: { id: 'root', name: 'Root' } } }));
    const tree = await client.getAppAssetTree('user-token-xyz', 'ak', { associated: true, resourceTypes: ['b', 'a'] });
    expect(tree).toEqual({ id: 'root', kind: 'node', names: { default: 'Root' }, parentId: null, order: 0, tags: [], children: [] });
    const call = calls.find((c) => c.path === PortalPaths.appAssetTree)!;
    const headers = call.config.headers as Record<string, string>;
    expect(call.config.url).toBe(`${PortalPaths.appAssetTree}?accessKey=ak&resourceTypes=b%2Ca`);
    expect(headers.authorization).toBe('Bearer user-token-xyz');
    expect(headers.needAssociatedAsset).toBe('true');
    expect(headers[ApimHeaders.signature]).toBe(requestSignature('app-token', 'accessKeyakresourceTypesb,a', headers[ApimHeaders.timestamp], SECRET));
  });

  it('rejects invalid options at construction', () => {
    expect(() => clientWith(() => ({ data: null }), { batchSize: 1001 })).toThrow(/batchSize/);
    expect(() => clientWith(() => ({ data: null }), { concurrency: 0 })).toThrow(/concurrency/);
  });
});
