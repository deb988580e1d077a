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
async function cannon(spec) {
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
