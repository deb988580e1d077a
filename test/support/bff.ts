import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from './ports';
import { TEST_REDIS_URL } from './test-redis';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist/apps/asset-bff/src/main.js');

/** Obviously fake test keys; only their SHA-256 goes into API_KEYS. */
export const TEST_KEYS = {
  reader: 'test-key-reader-0000000000000001',
  admin: 'test-key-admin-00000000000000002',
  otherOrg: 'test-key-other-org-000000000003',
  noScope: 'test-key-no-scope-0000000000004',
} as const;

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** API_KEYS for the test keys: reader (o1, o2: assets:read), admin (*: both scopes), otherOrg (o2 only), noScope (o1, no scope). */
export function testApiKeys(orgs: string[] = ['o1', 'o2']): string {
  return JSON.stringify([
    { id: 'reader', sha256: sha256(TEST_KEYS.reader), orgs, scopes: ['assets:read'] },
    { id: 'admin', sha256: sha256(TEST_KEYS.admin), orgs: ['*'], scopes: ['assets:read', 'cache:write'] },
    { id: 'other-org', sha256: sha256(TEST_KEYS.otherOrg), orgs: ['o-other'], scopes: ['assets:read', 'cache:write'] },
    { id: 'no-scope', sha256: sha256(TEST_KEYS.noScope), orgs: ['*'], scopes: [] },
  ]);
}

export interface BffHandle {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the process printed on stdout and stderr so far. */
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartBffOptions {
  /** Base URL of the simulator, its app credentials and JWKS. */
  sim?: { url: string; appKey: string; appSecret: string };
  env?: Record<string, string | undefined>;
  /** Wait for the listening line (default true); false returns once the process exits (config errors). */
  expectListen?: boolean;
}

/** Spawns the built service with a test configuration (the test Redis unless env overrides) and waits until it listens. */
export async function startBff(opts: StartBffOptions = {}): Promise<BffHandle> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    API_KEYS: testApiKeys(),
    REDIS_URL: `${TEST_REDIS_URL}/0`,
    PORTAL_TIMEOUT_MS: '2000',
  };
  if (opts.sim) {
    env.PORTAL_BASE_URL = opts.sim.url;
    env.PORTAL_APP_KEY = opts.sim.appKey;
    env.PORTAL_APP_SECRET = opts.sim.appSecret;
    env.JWT_JWKS_URL = `${opts.sim.url}/.well-known/jwks.json`;
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const handle: BffHandle = {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    output: () => out,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  if (opts.expectListen === false) {
    await exited;
    return handle;
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`asset-bff did not listen within 20s:\n${out}`)), 20_000);
    const check = () => {
      if (out.includes('asset-bff listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`asset-bff exited with ${code}:\n${out}`));
    });
    check();
  });
  return handle;
}

/** fetch with a JSON body and the given credentials; returns status, headers and parsed body. */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: { key?: string; token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key !== undefined) headers['x-api-key'] = opts.key;
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/**
 * POSTs a body too large for the service: declares its full Content-Length but writes only the first
 * 64 KiB, so that the answer (413, sent as soon as the length is seen) is read before any EPIPE.
 */
export function postLarge(base: string, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const http = require('node:http') as typeof import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request(
      base + path,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') reject(e);
    });
    req.write(body.slice(0, 64 * 1024));
  });
}

/** The JSON log lines a process printed. */
export function logLines(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
