import { AssetBffError } from './asset-bff-error';
import { EtagCache } from './etag-cache';
import { ndjsonLines } from './ndjson';
import type {
  AccessChecks,
  Asset,
  AssetTreeOptions,
  BatchAsset,
  Check,
  CheckResult,
  FlatView,
  NdjsonLine,
  Problem,
  ReadOptions,
  TreeView,
  UserAssetIds,
  UserAssetPagesOptions,
  UserAssets,
  UserAssetsOptions,
  UsersAssets,
  UsersAssetsOptions,
} from './types';

/** What the service takes in one request (API.md section 3): more is split by the client. */
export const MAX_USERS_PER_REQUEST = 50_000;
export const MAX_CHECKS_PER_REQUEST = 10_000;
const DEFAULT_MAX_RETRIES = 2;
/** A Retry-After longer than this is not waited for: the error goes to the caller, who knows its own deadline. */
const DEFAULT_MAX_RETRY_DELAY_S = 60;
/** When a 429 or 503 comes without Retry-After. */
const DEFAULT_RETRY_AFTER_S = 1;
const DEFAULT_ETAG_CACHE_ENTRIES = 100;
const NDJSON = 'application/x-ndjson';
const RETRIED_STATUSES = new Set([429, 503]);

export interface AssetBffClientOptions {
  /** The service's base URL, e.g. `https://asset-bff.example.com`. */
  baseUrl: string;
  /** A service caller's key (`X-Api-Key`). */
  apiKey?: string;
  /** A user caller's token (`Authorization: Bearer`), or a function that gives the current one. */
  token?: string | (() => string | Promise<string>);
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Retries of a 429 or 503 after its Retry-After (default 2). */
  maxRetries?: number;
  /** The longest Retry-After waited for, in seconds (default 60); a longer one fails at once. */
  maxRetryDelayS?: number;
  /** GET answers kept for revalidation with If-None-Match (default 100; 0 keeps none). */
  etagCacheEntries?: number;
  /** Headers sent with every request (e.g. `traceparent`). */
  headers?: Record<string, string>;
  /** How the client waits before a retry (default setTimeout); a test may pass its own clock. */
  sleep?: (ms: number) => Promise<void>;
}

interface SendOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  accept?: string;
  headers?: Record<string, string>;
  consistencyToken?: string;
}

const segment = encodeURIComponent;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The typed client of asset-bff (API.md section 5): fetch only, so the same code runs in Node and in browsers. */
export class AssetBffClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly maxRetries: number;
  private readonly maxRetryDelayS: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly etags: EtagCache;

  constructor(private readonly options: AssetBffClientOptions) {
    if (!options.baseUrl) throw new TypeError('AssetBffClient: baseUrl is required');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    // Calling the global fetch through a wrapper: a browser's fetch throws when called as another object's method.
    // Called as a plain function: a browser's fetch called as a method of another object throws "Illegal invocation".
    const given = options.fetch;
    this.fetchImpl = given ? (input, init) => given.call(globalThis, input, init) : (input, init) => globalThis.fetch(input, init);
    this.maxRetries = Math.max(0, options.maxRetries ?? DEFAULT_MAX_RETRIES);
    this.maxRetryDelayS = options.maxRetryDelayS ?? DEFAULT_MAX_RETRY_DELAY_S;
    this.sleep = options.sleep ?? defaultSleep;
    this.etags = new EtagCache(options.etagCacheEntries ?? DEFAULT_ETAG_CACHE_ENTRIES);
  }

  /** Every asset the user can access in the OU, or one page of them when `limit` is set. */
  userAssets(orgId: string, userId: string, opts: UserAssetsOptions = {}): Promise<UserAssets> {
    return this.getJson<UserAssets>(`/v1/orgs/${segment(orgId)}/users/${segment(userId)}/assets`, this.listQuery(opts), opts);
  }

  /** The calling user's assets (user callers): as userAssets. */
  myAssets(opts: UserAssetsOptions = {}): Promise<UserAssets> {
    return this.getJson<UserAssets>('/v1/me/assets', this.listQuery(opts), opts);
  }

  /** Every page of the user's assets, each read only when the loop asks for it. */
  userAssetPages(orgId: string, userId: string, opts: UserAssetPagesOptions = {}): AsyncGenerator<UserAssets> {
    return this.pages((cursor) => this.userAssets(orgId, userId, { ...opts, cursor }));
  }

  /** Every page of the calling user's assets (user callers). */
  myAssetPages(opts: UserAssetPagesOptions = {}): AsyncGenerator<UserAssets> {
    return this.pages((cursor) => this.myAssets({ ...opts, cursor }));
  }

  /** One asset when the user can access it; AssetBffError 404 `ASSET_NOT_ACCESSIBLE` when not. */
  userAsset(orgId: string, userId: string, assetId: string, opts: ReadOptions = {}): Promise<Asset> {
    return this.getJson<Asset>(`/v1/orgs/${segment(orgId)}/users/${segment(userId)}/assets/${segment(assetId)}`, { lang: opts.lang }, opts);
  }

  /**
   * The assets of any number of users: split into requests of MAX_USERS_PER_REQUEST, each read as an
   * NDJSON stream, folded into one answer (each user once in request order, each asset once).
   */
  async usersAssets(orgId: string, userIds: readonly string[], opts: UsersAssetsOptions = {}): Promise<UsersAssets> {
    const unique = [...new Set(userIds)];
    const users: UserAssetIds[] = [];
    const assets = new Map<string, BatchAsset>();
    for (const chunk of chunksOf(unique, MAX_USERS_PER_REQUEST)) {
      const res = await this.send('POST', `/v1/orgs/${segment(orgId)}/user-assets`, {
        query: { lang: opts.lang },
        body: opts.resourceTypes ? { userIds: chunk, resourceTypes: opts.resourceTypes } : { userIds: chunk },
        accept: NDJSON,
        consistencyToken: opts.consistencyToken,
      });
      await this.readBatch(res, chunk.length, (line) => {
        if ('asset' in line) {
          if (!assets.has(line.asset.id)) assets.set(line.asset.id, line.asset);
        } else if ('user' in line) {
          users.push(line.user);
          opts.onProgress?.(users.length, unique.length);
        }
      });
    }
    return { orgId, users, assets: [...assets.values()] };
  }

  /**
   * Any number of access checks, split into requests of MAX_CHECKS_PER_REQUEST; results in request order.
   * The access-checks route has no NDJSON form: each answer is at most 10,000 small results.
   */
  async checkAccess(orgId: string, checks: readonly Check[], opts: Pick<ReadOptions, 'consistencyToken'> = {}): Promise<AccessChecks> {
    const results: CheckResult[] = [];
    for (const chunk of chunksOf(checks, MAX_CHECKS_PER_REQUEST)) {
      const res = await this.send('POST', `/v1/orgs/${segment(orgId)}/access-checks`, {
        body: { checks: chunk },
        consistencyToken: opts.consistencyToken,
      });
      const answer = await this.readJson<AccessChecks>(res);
      for (const r of answer.results) results.push(r);
    }
    return { results };
  }

  /** The asset tree of an application (user callers: the token is forwarded to the portal). */
  assetTree(accessKey: string, opts: AssetTreeOptions & { view: 'flat' }): Promise<FlatView>;
  assetTree(accessKey: string, opts?: AssetTreeOptions & { view?: 'tree' }): Promise<TreeView>;
  assetTree(accessKey: string, opts: AssetTreeOptions = {}): Promise<TreeView | FlatView> {
    // A comma list as the HTTP API takes it, or its items.
    const types = typeof opts.types === 'string' ? opts.types : opts.types?.join(',');
    const query = { view: opts.view, types, associated: opts.associated, lang: opts.lang };
    return this.getJson<TreeView | FlatView>(`/v1/apps/${segment(accessKey)}/asset-tree`, query, {});
  }

  /** Drops the cached assets of one user; resolves to the consistency token of the invalidation. */
  invalidateUser(orgId: string, userId: string): Promise<string> {
    return this.invalidate(`/v1/orgs/${segment(orgId)}/users/${segment(userId)}/cache`);
  }

  /** Drops the cached assets of every user of the OU; resolves to the consistency token of the invalidation. */
  invalidateOrg(orgId: string): Promise<string> {
    return this.invalidate(`/v1/orgs/${segment(orgId)}/cache`);
  }

  /** Forgets the answers kept for revalidation. */
  clearCache(): void {
    this.etags.clear();
  }

  private listQuery(opts: UserAssetsOptions): SendOptions['query'] {
    return { lang: opts.lang, limit: opts.limit, cursor: opts.cursor, q: opts.q };
  }

  private async *pages(read: (cursor: string | undefined) => Promise<UserAssets>): AsyncGenerator<UserAssets> {
    let cursor: string | undefined;
    do {
      const page = await read(cursor);
      yield page;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  private async invalidate(path: string): Promise<string> {
    const res = await this.send('DELETE', path, {});
    if (!res.ok) throw await this.errorOf(res);
    const token = res.headers.get('x-consistency-token');
    if (!token) throw new AssetBffError({ status: res.status, code: 'BAD_RESPONSE', message: 'the invalidation answered without X-Consistency-Token' });
    return token;
  }

  /**
   * A GET through the ETag cache: a kept answer is revalidated with If-None-Match and a 304 gives it back.
   * `Cache-Control: max-age=0` is sent with it because fetch (Fetch spec, HTTP-network-or-cache fetch) adds
   * `Cache-Control: no-cache` to a request that carries If-None-Match and none of its own, and the service
   * reads `no-cache` as "skip the cached copy and ask the portal": the 304 would cost an upstream call.
   */
  private async getJson<T>(path: string, query: SendOptions['query'], opts: Pick<ReadOptions, 'consistencyToken'>): Promise<T> {
    const key = path + this.queryString(query);
    const kept = this.etags.get(key);
    const headers: Record<string, string> = kept ? { 'if-none-match': kept.etag, 'cache-control': 'max-age=0' } : {};
    const res = await this.send('GET', path, { query, headers, consistencyToken: opts.consistencyToken });
    if (res.status === 304 && kept) return kept.body as T;
    const body = await this.readJson<T>(res);
    const etag = res.headers.get('etag');
    if (etag) this.etags.set(key, { etag, body });
    return body;
  }

  /** One request, retried after Retry-After while it answers 429 or 503 and retries are left. */
  private async send(method: string, path: string, opts: SendOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: opts.accept ?? 'application/json', ...this.options.headers, ...opts.headers };
    if (this.options.apiKey) headers['x-api-key'] = this.options.apiKey;
    let token: string | undefined;
    try {
      token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    } catch (e) {
      throw new AssetBffError({ status: 0, code: 'TOKEN_ERROR', message: `${method} ${path}: the token function failed: ${(e as Error).message}`, cause: e });
    }
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.consistencyToken) headers['x-consistency-token'] = opts.consistencyToken;
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = this.baseUrl + path + this.queryString(opts.query);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method, headers, body });
      } catch (e) {
        throw new AssetBffError({ status: 0, code: 'NETWORK_ERROR', message: `${method} ${path}: ${(e as Error).message}`, cause: e });
      }
      if (!RETRIED_STATUSES.has(res.status) || attempt >= this.maxRetries) return res;
      const waitS = this.retryAfterOf(res);
      if (waitS > this.maxRetryDelayS) return res;
      await res.body?.cancel().catch(() => undefined);
      await this.sleep(waitS * 1000);
    }
  }

  private retryAfterOf(res: Response): number {
    const value = res.headers.get('retry-after');
    return value !== null && /^\d+$/.test(value) ? Number(value) : DEFAULT_RETRY_AFTER_S;
  }

  private queryString(query: SendOptions['query'] = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const s = params.toString();
    return s ? `?${s}` : '';
  }

  private async readJson<T>(res: Response): Promise<T> {
    if (!res.ok) throw await this.errorOf(res);
    try {
      return (await res.json()) as T;
    } catch (e) {
      throw new AssetBffError({ status: res.status, code: 'BAD_RESPONSE', message: `the answer is not JSON: ${(e as Error).message}`, cause: e });
    }
  }

  private async errorOf(res: Response): Promise<AssetBffError> {
    let problem: Partial<Problem> | undefined;
    try {
      problem = (await res.json()) as Partial<Problem>;
    } catch {
      problem = undefined; // not problem+json (a proxy's page): the status alone tells what happened
    }
    return AssetBffError.fromProblem(problem, res.status, res.headers);
  }

  /** Reads one NDJSON batch answer to its `end` line; an `error` line or a stream that stops before `end` is an AssetBffError. */
  private async readBatch(res: Response, requested: number, onLine: (line: NdjsonLine) => void): Promise<void> {
    if (!res.ok) throw await this.errorOf(res);
    if (!res.body) throw new AssetBffError({ status: res.status, code: 'BAD_RESPONSE', message: 'the batch answer has no body' });
    const requestId = res.headers.get('x-request-id') ?? undefined;
    let end: Extract<NdjsonLine, { end: unknown }>['end'] | undefined;
    try {
      for await (const line of ndjsonLines<NdjsonLine>(res.body)) {
        if ('error' in line) throw AssetBffError.fromProblem(line.error, line.error.status ?? res.status);
        if ('end' in line) end = line.end;
        else onLine(line);
      }
    } catch (e) {
      if (e instanceof AssetBffError) throw e;
      throw new AssetBffError({
        status: res.status,
        code: 'STREAM_INCOMPLETE',
        message: `the batch stream broke: ${(e as Error).message}`,
        requestId,
        cause: e,
      });
    }
    if (!end) throw new AssetBffError({ status: res.status, code: 'STREAM_INCOMPLETE', message: 'the batch stream ended without its end line', requestId });
    if (end.users !== requested) {
      throw new AssetBffError({ status: res.status, code: 'BAD_RESPONSE', message: `the batch answered ${end.users} users of ${requested}`, requestId });
    }
  }
}
