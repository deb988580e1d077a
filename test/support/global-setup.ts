import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { portOpen, waitFor } from './redis';
import { TEST_REDIS_PORT } from './test-redis';

/** The shared Redis of the e2e suites: the one on 127.0.0.1:6379 (or TEST_REDIS_PORT), started here when none answers. */
export default async function globalSetup(): Promise<void> {
  if (!(await portOpen(TEST_REDIS_PORT))) {
    const r = spawnSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(TEST_REDIS_PORT), '--save', '', '--appendonly', 'no'], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`could not start redis-server: ${r.stderr}`);
    await waitFor(() => portOpen(TEST_REDIS_PORT), 10_000, `redis on ${TEST_REDIS_PORT}`);
  }
  const root = join(__dirname, '..', '..');
  for (const main of ['dist/apps/portal-sim/src/main.js', 'dist/apps/asset-bff/src/main.js', 'libs/asset-bff-client/dist/cli.js']) {
    if (!existsSync(join(root, main))) throw new Error(`${main} is missing: run \`npm run build\` (npm test does it first)`);
  }
}
