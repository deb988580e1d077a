'use strict';
// Starting and stopping what the benchmarks measure, each as its own process: redis-server, the portal
// simulator, the service and the baselines. Every child is registered so that it is killed on any exit.
const { spawn, spawnSync } = require('node:child_process');
const { createServer, createConnection } = require('node:net');
const { mkdtempSync, rmSync, mkdirSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { createHash } = require('node:crypto');

const ROOT = join(__dirname, '..', '..');
const SIM_MAIN = join(ROOT, 'dist', 'apps', 'portal-sim', 'src', 'main.js');
const BFF_MAIN = join(ROOT, 'dist', 'apps', 'asset-bff', 'src', 'main.js');
/** An obviously fake benchmark key; only its SHA-256 goes into API_KEYS. */
const BENCH_KEY = 'bench-key-not-a-secret-000000000001';
const START_TIMEOUT_MS = 60_000;

const children = new Set();
const tmpDirs = new Set();

function killAll() {
  for (const p of children) {
    try {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  children.clear();
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
  tmpDirs.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

function track(proc) {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port;
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port, host = '127.0.0.1', timeoutMs = 300) {
  return new Promise((resolve) => {
    const s = createConnection({ port, host });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function waitFor(check, timeoutMs, what) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits for a line matching re on the child's stdout; rejects when it exits first. */
function waitLine(proc, re, what, getOut) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${START_TIMEOUT_MS} ms:\n${getOut()}`)), START_TIMEOUT_MS);
    const check = () => {
      const m = re.exec(getOut());
      if (m) {
        clearTimeout(timer);
        proc.stdout.off('data', check);
        resolve(m);
      }
    };
    proc.stdout.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${getOut().slice(-4000)}`));
    });
    check();
  });
}

/** SIGTERM, then SIGKILL after graceMs; resolves on exit. */
async function stopProc(proc, graceMs = 5_000, signal = 'SIGTERM') {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A redis-server owned by the benchmark (clean INFO memory figures), killable and restartable on the same port. */
class OwnRedis {
  constructor(port) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), 'abff-bench-redis-'));
    tmpDirs.add(this.dir);
  }
  get url() {
    return `redis://127.0.0.1:${this.port}/0`;
  }
  async start() {
    this.proc = track(
      spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], { stdio: 'ignore' }),
    );
    await waitFor(() => portOpen(this.port), 10_000, `redis on ${this.port}`);
  }
  async kill() {
    const p = this.proc;
    this.proc = undefined;
    if (p) await stopProc(p, 1, 'SIGKILL');
  }
  async stop() {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
    tmpDirs.delete(this.dir);
  }
  /** INFO memory as a map. */
  info(section = 'memory') {
    const r = spawnSync('redis-cli', ['-p', String(this.port), 'info', section], { encoding: 'utf8' });
    const out = {};
    for (const line of r.stdout.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  }
  cli(...args) {
    return spawnSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' }).stdout.trim();
  }
}

/** The built simulator (large profile unless told otherwise). */
async function startSim(env = {}) {
  const port = await freePort();
  const proc = track(
    spawn(process.execPath, [SIM_MAIN], {
      env: { PATH: process.env.PATH, SIM_PROFILE: 'large', ...env, SIM_PORT: String(port), SIM_HOST: '127.0.0.1', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const m = await waitLine(proc, /portal-sim listening on (http:\/\/\S+)/, 'portal-sim', () => out);
  return { url: m[1], port, proc, appKey: 'demo-app-key', appSecret: 'demo-app-secret', output: () => out, stop: () => stopProc(proc) };
}

const sha256 = (s) => createHash('sha256').update(s).digest('hex');

/** Node options for every service instance the bench starts, from BENCH_SERVICE_NODE_ARGS (e.g. "--single-threaded-gc"). */
function serviceNodeArgs() {
  return (process.env.BENCH_SERVICE_NODE_ARGS || '').split(/\s+/).filter(Boolean);
}

/** Extra environment for every service instance the bench starts, from BENCH_SERVICE_ENV (a JSON object). */
function serviceEnv() {
  return process.env.BENCH_SERVICE_ENV ? JSON.parse(process.env.BENCH_SERVICE_ENV) : {};
}

/**
 * The built service with production settings. nodeArgs e.g. ['--cpu-prof', '--cpu-prof-dir', dir].
 * env overrides the defaults (undefined deletes a variable).
 */
async function startBff(sim, { env = {}, nodeArgs = [] } = {}) {
  const port = await freePort();
  const e = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    PORTAL_BASE_URL: sim.url,
    PORTAL_APP_KEY: sim.appKey,
    PORTAL_APP_SECRET: sim.appSecret,
    JWT_JWKS_URL: `${sim.url}/.well-known/jwks.json`,
    API_KEYS: JSON.stringify([{ id: 'bench', sha256: sha256(BENCH_KEY), orgs: ['*'], scopes: ['assets:read', 'cache:write'] }]),
  };
  for (const [k, v] of Object.entries({ ...serviceEnv(), ...env })) {
    if (v === undefined) delete e[k];
    else e[k] = String(v);
  }
  const proc = track(spawn(process.execPath, [...serviceNodeArgs(), ...nodeArgs, BFF_MAIN], { env: e, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  });
  proc.stderr.on('data', (d) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  });
  await waitLine(proc, /asset-bff listening on/, 'asset-bff', () => out);
  return { url: `http://127.0.0.1:${port}`, port, proc, pid: proc.pid, output: () => out, stop: (grace = 10_000) => stopProc(proc, grace) };
}

/** A baseline server script from bench/baselines (prints "listening <port>"). */
async function startBaseline(script, env = {}) {
  const port = await freePort();
  const proc = track(
    spawn(process.execPath, [join(__dirname, '..', 'baselines', script)], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  await waitLine(proc, /listening/, script, () => out);
  return { url: `http://127.0.0.1:${port}`, port, proc, pid: proc.pid, stop: () => stopProc(proc) };
}

/** Resident set size of a process in MB (from /proc). */
function rssMb(pid) {
  try {
    const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_S = 100;

/** CPU time (user + system, all threads) a process has used so far in ms, from /proc; null off Linux. */
function cpuMs(pid) {
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14 and 15
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

function ensureDir(d) {
  mkdirSync(d, { recursive: true });
  return d;
}

module.exports = {
  ROOT,
  BENCH_KEY,
  serviceNodeArgs,
  freePort,
  portOpen,
  waitFor,
  stopProc,
  OwnRedis,
  startSim,
  startBff,
  startBaseline,
  rssMb,
  cpuMs,
  killAll,
  ensureDir,
  track,
};
