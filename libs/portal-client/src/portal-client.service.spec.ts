import { HttpService } from '@nestjs/axios';
import { ConsoleLogger, Logger, LoggerService } from '@nestjs/common';
import type { AxiosRequestConfig } from 'axios';
import { PortalPaths } from '@app/portal-contracts';
import { PortalClient } from './portal-client.service';
import { PortalClientOptions } from './portal-client.types';

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

/**
 * What the simulator cannot show: the exact lines the client logs, pages that never hold still, and options refused
 * before any call. Everything else about the client (signing, request ids, envelopes and legacy codes, malformed
 * answers, chunk merging, the tree's headers) is proven against the simulator process in test/client/ and
 * test/tracing/, which verifies each call's signature.
 */
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

  it('rejects invalid options at construction', () => {
    expect(() => clientWith(() => ({ data: null }), { batchSize: 1001 })).toThrow(/batchSize/);
    expect(() => clientWith(() => ({ data: null }), { concurrency: 0 })).toThrow(/concurrency/);
  });
});
