#!/usr/bin/env node
// Regenerates the client's types from the service: boots the built service (dist/) on a free port with a
// throw-away configuration (no Redis, an unreachable portal: the document does not depend on either),
// writes its /docs-json to libs/asset-bff-client/openapi.json and runs openapi-typescript on it into
// libs/asset-bff-client/src/generated/api.ts. Both files are committed so the package builds without a
// running service; test/client-package/openapi-drift.e2e-spec.ts fails when they fall behind the service.
// Usage: `npm run client:openapi` (builds first).
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { writeFileSync } = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lib = path.join(root, 'libs', 'asset-bff-client');
const MAIN = path.join(root, 'dist', 'apps', 'asset-bff', 'src', 'main.js');
const START_TIMEOUT_MS = 20_000;

/** The document as the package keeps it: stable key order is the service's own, two-space JSON. */
const serialize = (doc) => `${JSON.stringify(doc, null, 2)}\n`;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function fetchDocument() {
  const port = await freePort();
  const key = 'openapi-export-key-000000000000001';
  const env = {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    API_KEYS: JSON.stringify([{ id: 'export', sha256: createHash('sha256').update(key).digest('hex'), orgs: ['*'], scopes: ['assets:read'] }]),
    PORTAL_BASE_URL: 'http://127.0.0.1:9',
    PORTAL_APP_KEY: 'export',
    PORTAL_APP_SECRET: 'export',
    JWT_SECRET: 'openapi-export-secret-not-used-for-anything',
  };
  const proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`asset-bff did not listen:\n${out}`)), START_TIMEOUT_MS);
      proc.stdout.on('data', () => out.includes('asset-bff listening on') && (clearTimeout(timer), resolve()));
      proc.once('exit', (code) => (clearTimeout(timer), reject(new Error(`asset-bff exited with ${code}:\n${out}`))));
    });
    const res = await fetch(`http://127.0.0.1:${port}/docs-json`);
    if (!res.ok) throw new Error(`/docs-json answered ${res.status}`);
    return await res.json();
  } finally {
    proc.kill('SIGTERM');
  }
}

async function main() {
  const doc = await fetchDocument();
  const jsonFile = path.join(lib, 'openapi.json');
  writeFileSync(jsonFile, serialize(doc));
  execFileSync(path.join(root, 'node_modules', '.bin', 'openapi-typescript'), [jsonFile, '-o', path.join(lib, 'src', 'generated', 'api.ts')], {
    cwd: root,
    stdio: 'inherit',
  });
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}

module.exports = { serialize };
