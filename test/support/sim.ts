import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  ApimHeaders,
  PortalEndpointName,
  PortalPaths,
  TokenReply,
  isSuccessCode,
  requestSignature,
  signingParams,
  tokenEncryption,
} from '@app/portal-contracts';
import { SimCounters, SimCreateOrg, SimCreateUser, SimFault, SimOrgDetail, SimOrgSummary, SimPageDrift, SimQuirks } from '@app/sim-contracts';
import { freePort } from './ports';

/**
 * Starting the portal simulator (dist/apps/portal-sim) from tests.
 *
 * The `test` profile (fixed, independent of SIM_SEED):
 * - resource types `inverter`, `wind_turbine`, `meter`, `auth_unit`, `site`; asset i (0-based) of an OU has
 *   type `RESOURCE_TYPES[i % 5]` in that order (so 2,500 assets = 500 of each type).
 * - asset ids `<orgId>-a0001`.. in OU order; names `{default, en_US, zh_CN, ja_JP}` like "Inverter 0001";
 *   `ja_JP` is missing when i % 7 == 6, `zh_CN` is "" when i % 11 == 10.
 * - `o1` "Test OU One": 2,500 assets, 20 users:
 *   `u0001` all 2,500; `u0002` none; `u0003` the first 1,000; `u0004` the first 1,001;
 *   `u0005`..`u0020` 10 each: u00k gets `o1-a` ((k-5)*10+1) .. ((k-5)*10+10) (u0005: a0001..a0010, u0020: a0151..a0160).
 *   Tree: root `o1` → regions `o1-n1`..`o1-n5` (tag level=region) → sites `o1-n<r>-1`..`-5` (tag level=site,
 *   displayOrder 5..1, i.e. reversed) with 100 assets each in order (`o1-n1-1` holds a0001..a0100).
 *   Every non-root node has one associated resource: the first asset below it.
 * - `o2` "Test OU Two": 30 assets, users `u0001` (all 30) and `u0101`..`u0105` (5 each: u0101 a0001..a0005, ...,
 *   u0105 a0021..a0025). Tree: `o2` → `o2-n1`, `o2-n2` → 3 sites each, 5 assets per site.
 * - `o3` "Empty OU": no assets, one user `u0201` with none.
 * - `u0001` is in both o1 and o2. Every user's password is SIM_USER_PASSWORD (default `demo-password`).
 */
export interface StartSimOptions {
  profile?: 'test' | 'demo' | 'large';
  env?: Record<string, string>;
}

export interface SimHandle {
  url: string;
  port: number;
  appKey: string;
  appSecret: string;
  accessKey: string;
  admin: SimAdmin;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'portal-sim', 'src', 'main.js');
/** How long the simulator may take to print its listening line (the large profile generates ~100k assets). */
const START_TIMEOUT_MS = 30_000;

/** Spawns the built simulator on a free port and resolves once it listens. */
export async function startSim(opts: StartSimOptions = {}): Promise<SimHandle> {
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    SIM_PROFILE: opts.profile ?? 'test',
    ...opts.env,
    SIM_PORT: String(port),
    SIM_HOST: '127.0.0.1',
  };
  const proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await waitListening(proc);
  const appKey = env.SIM_APP_KEY || 'demo-app-key';
  const appSecret = env.SIM_APP_SECRET || 'demo-app-secret';
  const accessKey = env.SIM_ACCESS_KEY || 'demo-access-key';
  const admin = new SimAdmin(url, env.SIM_USER_PASSWORD || 'demo-password');
  return { url, port, appKey, appSecret, accessKey, admin, stop: () => stopProcess(proc) };
}

function waitListening(proc: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`portal-sim did not start in ${START_TIMEOUT_MS} ms: ${err || out}`));
    }, START_TIMEOUT_MS);
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /portal-sim listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`portal-sim exited with ${code}: ${err || out}`));
    });
  });
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

/** A thin typed wrapper over the simulator's `/__sim` admin API. */
export class SimAdmin {
  constructor(
    private readonly url: string,
    private readonly password = 'demo-password',
  ) {}

  counters(): Promise<SimCounters> {
    return this.call<SimCounters>('GET', '/counters');
  }
  async resetCounters(): Promise<void> {
    await this.call('POST', '/counters/reset');
  }
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }
  async setFault(endpoint: PortalEndpointName | '*', fault: SimFault): Promise<void> {
    await this.call('PUT', `/faults/${encodeURIComponent(endpoint)}`, fault);
  }
  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/faults');
  }
  setQuirks(q: Partial<SimQuirks>): Promise<SimQuirks> {
    return this.call<SimQuirks>('PUT', '/quirks', q);
  }
  async setAppPermission(granted: boolean): Promise<void> {
    await this.call('PUT', '/app-permission', { granted });
  }
  orgs(): Promise<SimOrgSummary[]> {
    return this.call<SimOrgSummary[]>('GET', '/orgs');
  }
  org(orgId: string): Promise<SimOrgDetail> {
    return this.call<SimOrgDetail>('GET', `/orgs/${encodeURIComponent(orgId)}`);
  }
  createOrg(body: SimCreateOrg): Promise<SimOrgSummary> {
    return this.call<SimOrgSummary>('POST', '/orgs', body);
  }
  async createUser(orgId: string, body: SimCreateUser): Promise<void> {
    await this.call('POST', `/orgs/${encodeURIComponent(orgId)}/users`, body);
  }
  async deleteUser(orgId: string, userId: string): Promise<void> {
    await this.call('DELETE', `/orgs/${encodeURIComponent(orgId)}/users/${encodeURIComponent(userId)}`);
  }
  async grant(orgId: string, userId: string, assetIds: string[]): Promise<void> {
    await this.call('POST', `/orgs/${encodeURIComponent(orgId)}/users/${encodeURIComponent(userId)}/grant`, { assetIds });
  }
  async revoke(orgId: string, userId: string, assetIds: string[]): Promise<void> {
    await this.call('POST', `/orgs/${encodeURIComponent(orgId)}/users/${encodeURIComponent(userId)}/revoke`, { assetIds });
  }
  /** Makes the user's asset/list pages disagree until clearPageDrift (or reset). */
  async setPageDrift(orgId: string, userId: string, mode: SimPageDrift['mode']): Promise<void> {
    await this.call('PUT', `/orgs/${encodeURIComponent(orgId)}/users/${encodeURIComponent(userId)}/page-drift`, { mode });
  }
  async clearPageDrift(orgId: string, userId: string): Promise<void> {
    await this.call('DELETE', `/orgs/${encodeURIComponent(orgId)}/users/${encodeURIComponent(userId)}/page-drift`);
  }
  async setTokenTtl(t: { appTokenTtlS?: number; userTokenTtlS?: number }): Promise<void> {
    await this.call('POST', '/token-ttl', t);
  }
  /** Expires every app token issued so far: the next signed call with one gets 1203. */
  async expireAppTokens(): Promise<void> {
    await this.call('POST', '/tokens/expire');
  }

  /** login (+ session/set when orgId is given): a user JWT; without orgId the token has no OU (31512 on the tree). */
  async userToken(userId: string, orgId?: string): Promise<string> {
    const login = await postJson<{ code: number; data: { accessToken: string } | null }>(`${this.url}${PortalPaths.login}`, {
      account: userId,
      password: this.password,
    });
    if (!isSuccessCode(login.code) || !login.data) throw new Error(`login of ${userId} failed with ${login.code}`);
    if (orgId === undefined) return login.data.accessToken;
    const session = await postJson<{ code: number; data: { accessToken: string } | null }>(
      `${this.url}${PortalPaths.sessionSet}`,
      { orgId },
      { authorization: `Bearer ${login.data.accessToken}` },
    );
    if (!isSuccessCode(session.code) || !session.data) throw new Error(`session/set of ${userId} to ${orgId} failed with ${session.code}`);
    return session.data.accessToken;
  }

  private async call<T = void>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/__sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} /__sim${path} -> ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }
}

async function postJson<T>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return (await res.json()) as T;
}

/** Gets a fresh app token from the simulator's APIM token service. */
export async function appToken(sim: Pick<SimHandle, 'url' | 'appKey' | 'appSecret'>): Promise<string> {
  const timestamp = Date.now();
  const reply = await postJson<TokenReply>(`${sim.url}${PortalPaths.tokenGet}`, {
    appKey: sim.appKey,
    encryption: tokenEncryption(sim.appKey, timestamp, sim.appSecret),
    timestamp,
  });
  if (reply.status !== 0 || !reply.data) throw new Error(`token/get failed with ${reply.status}`);
  return reply.data.accessToken;
}

export interface SignedCallOptions {
  query?: Record<string, string>;
  body?: unknown;
  /** A user JWT, sent as `Authorization: Bearer`. */
  token?: string;
  /** App token to sign with (default: a fresh one from token/get). */
  appToken?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface SignedCallResult<T = unknown> {
  status: number;
  body: T;
}

/** Calls a portal endpoint the way a client must: app token, apim headers, signature over query and raw body. */
/** A signed portal call as sent by signedCall, its Response unread (for a test that reads the bytes as they come). */
export async function signedFetch(
  sim: Pick<SimHandle, 'url' | 'appKey' | 'appSecret'>,
  method: 'GET' | 'POST',
  path: string,
  opts: SignedCallOptions = {},
): Promise<Response> {
  const token = opts.appToken ?? (await appToken(sim));
  const query = opts.query ?? {};
  const bodyText = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const timestamp = Date.now();
  const signature = requestSignature(token, signingParams(query, bodyText), timestamp, sim.appSecret);
  const qs = new URLSearchParams(query).toString();
  const headers: Record<string, string> = {
    [ApimHeaders.accessToken]: token,
    [ApimHeaders.timestamp]: String(timestamp),
    [ApimHeaders.signature]: signature,
    ...(bodyText !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    ...opts.headers,
  };
  return fetch(`${sim.url}${path}${qs ? `?${qs}` : ''}`, { method, headers, body: bodyText, signal: opts.signal });
}

export async function signedCall<T = any>(
  sim: Pick<SimHandle, 'url' | 'appKey' | 'appSecret'>,
  method: 'GET' | 'POST',
  path: string,
  opts: SignedCallOptions = {},
): Promise<SignedCallResult<T>> {
  const res = await signedFetch(sim, method, path, opts);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}
