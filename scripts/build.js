#!/usr/bin/env node
// Compiles the apps and libs into dist/ with tsc, then rewrites the @app/* path aliases to relative
// requires (tsc-alias) so that `node dist/apps/<app>/src/main.js` runs without a loader.
// `node scripts/build.js` builds everything, and the client package (libs/asset-bff-client, its own tsconfig:
// CommonJS and declarations into its folder's dist/, what `npm pack` there ships);
// `node scripts/build.js portal-sim` builds one app and its libs.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
const app = process.argv[2];
const project = app ? `apps/${app}/tsconfig.app.json` : 'tsconfig.build.json';
try {
  run(bin('tsc'), ['-p', project]);
  run(bin('tsc-alias'), ['-p', project]);
  if (!app) {
    // Emptied first: the tarball ships the whole dist/, so nothing of a removed source may stay in it.
    fs.rmSync(path.join(root, 'libs', 'asset-bff-client', 'dist'), { recursive: true, force: true });
    run(bin('tsc'), ['-p', 'libs/asset-bff-client/tsconfig.json']);
  }
} catch {
  console.error(`build failed (${project})`);
  process.exit(1);
}
