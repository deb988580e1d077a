'use strict';
// Spawns bench/lib/cannon-worker.js (autocannon in another process) and returns its JSON result.
const { spawn } = require('node:child_process');
const { writeFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');
const { track } = require('./procs');

/** Default load shape of every throughput comparison: same for the service and both baselines. */
const LOAD = { connections: 64, durationS: 10, warmupS: 2 };

let seq = 0;

/**
 * One load run. With `processes` > 1 the connections are split over that many autocannon processes run at
 * the same time (one autocannon process tops out near one core, and must not be what is measured); their
 * counts are summed and each latency percentile is the worst of the processes' (conservative, the same for
 * the service and the baselines).
 */
async function cannon(spec) {
  const n = spec.processes ?? 1;
  if (n <= 1) return cannonOne(spec);
  const per = Math.floor((spec.connections ?? LOAD.connections) / n);
  const rs = await Promise.all(Array.from({ length: n }, () => cannonOne({ ...spec, connections: per, processes: 1 })));
  const sum = (f) => rs.reduce((a, r) => a + f(r), 0);
  const worst = (k) => Math.max(...rs.map((r) => r.latencyMs[k]));
  const requests = sum((r) => r.requests);
  const durationS = Math.max(...rs.map((r) => r.durationS));
  const statusCodes = {};
  for (const r of rs) for (const [code, v] of Object.entries(r.statusCodes ?? {})) statusCodes[code] = { count: (statusCodes[code]?.count ?? 0) + v.count };
  return {
    processes: n,
    requests,
    durationS,
    reqPerSec: sum((r) => r.reqPerSec),
    reqPerSecMean: sum((r) => r.reqPerSecMean),
    bytesPerSec: sum((r) => r.bytesPerSec),
    bytesTotal: sum((r) => r.bytesTotal),
    latencyMs: {
      p50: worst('p50'),
      p90: worst('p90'),
      p99: worst('p99'),
      max: worst('max'),
      mean: sum((r) => r.latencyMs.mean * r.requests) / Math.max(1, requests),
    },
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    statusCodes,
  };
}

async function cannonOne(spec) {
  const file = join(tmpdir(), `abff-cannon-${process.pid}-${seq++}.json`);
  writeFileSync(file, JSON.stringify({ ...LOAD, ...spec }));
  try {
    const proc = track(spawn(process.execPath, [join(__dirname, 'cannon-worker.js'), file], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => proc.once('exit', r));
    if (code !== 0) throw new Error(`autocannon worker failed (${code}): ${err}`);
    return JSON.parse(out.trim().split('\n').pop());
  } finally {
    rmSync(file, { force: true });
  }
}

module.exports = { cannon, LOAD };
