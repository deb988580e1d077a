import { ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { SimAdmin, SimHandle } from '../support/sim';

/** Helpers shared by the hardening suites (test/hardening/*.e2e-spec.ts). */

export const PROBLEM_TYPE = /^application\/problem\+json/;
/** What the service may echo as X-Request-Id (main.ts accepts the caller's only when it is this sane). */
export const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls of the three data endpoints the simulator has seen: validation or auth failures must leave these at 0. */
export async function dataCalls(admin: SimAdmin): Promise<{ assetList: number; usersAssetList: number; appAssetTree: number }> {
  const c = await admin.counters();
  return { assetList: c.endpoints.assetList.calls, usersAssetList: c.endpoints.usersAssetList.calls, appAssetTree: c.endpoints.appAssetTree.calls };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

/**
 * One request with node:http, for what fetch refuses to send: raw header bytes (UTF-8 as latin1), repeated
 * headers (`rawHeaders` as [name, value, name, value...]), a path that is not normalized.
 */
export function rawRequest(base: string, method: string, path: string, rawHeaders: string[] = [], body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    // With raw (array) headers node:http adds no Host of its own; HTTP/1.1 requires one.
    const headers = rawHeaders.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host') ? [...rawHeaders] : ['host', u.host, ...rawHeaders];
    if (body !== undefined) headers.push('content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)));
    const req = request({ host: u.hostname, port: u.port, method, path, headers, insecureHTTPParser: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const SIM_MAIN = join(__dirname, '..', '..', 'dist', 'apps', 'portal-sim', 'src', 'main.js');

/**
 * A simulator on a FIXED port that the test can SIGKILL and start again on the same port (test/support/sim.ts
 * always picks a new port). Same `test` profile and default credentials as startSim.
 */
export class RestartableSim {
  private proc?: ChildProcess;
  readonly url: string;
  readonly appKey = 'demo-app-key';
  readonly appSecret = 'demo-app-secret';
  readonly accessKey = 'demo-access-key';
  readonly admin: SimAdmin;

  constructor(readonly port: number) {
    this.url = `http://127.0.0.1:${port}`;
    this.admin = new SimAdmin(this.url);
  }

  get handle(): Pick<SimHandle, 'url' | 'appKey' | 'appSecret'> {
    return { url: this.url, appKey: this.appKey, appSecret: this.appSecret };
  }

  /** Starts the simulator and resolves once it prints its listening line. */
  start(): Promise<void> {
    const env = { PATH: process.env.PATH ?? '', SIM_PROFILE: 'test', SIM_PORT: String(this.port), SIM_HOST: '127.0.0.1' };
    const proc = spawn(process.execPath, [SIM_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`portal-sim did not start: ${out}`)), 20_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/portal-sim listening on/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`portal-sim exited with ${code}: ${out}`));
      });
    });
  }

  /** SIGKILL: the way a crashed portal goes; its port refuses connections afterwards. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    this.proc = undefined;
  }
}
