import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { portOpen, waitFor } from './redis';

/** The shared Redis of the e2e suites: the one on 127.0.0.1:6379, started here when none answers. */
export default async function globalSetup(): Promise<void> {
  if (!(await portOpen(6379))) {
    const r = spawnSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`could not start redis-server: ${r.stderr}`);
    await waitFor(() => portOpen(6379), 10_000, 'redis on 6379');
  }
  const root = join(__dirname, '..', '..');
  for (const main of ['dist/apps/portal-sim/src/main.js', 'dist/apps/asset-bff/src/main.js']) {
    if (!existsSync(join(root, main))) throw new Error(`${main} is missing: run \`npm run build\` (npm test does it first)`);
  }
}
