#!/usr/bin/env node
// `npm start`: the portal simulator (demo data) and asset-bff together, Redis when REDIS_URL is set or one
// answers on 127.0.0.1:6379 (else the in-process cache), a fresh demo API key and a user token, and
// ready-to-paste curl lines. Ctrl-C stops both.
'use strict';
const { spawn } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const children = [];
const stopAll = () => {
  for (const c of children) c.kill('SIGTERM');
};
const sha256 = (s) => createHash('sha256').update(s).digest('hex');

function portFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}
async function pickPort(preferred) {
  if (await portFree(preferred)) return preferred;
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
function redisAnswers() {
  return new Promise((resolve) => {
    const s = net.createConnection({ port: 6379, host: '127.0.0.1' });
    s.setTimeout(300, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
function start(name, script, env, readyText) {
  const proc = spawn(process.execPath, [path.join(root, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  proc.stderr.on('data', (d) => process.stderr.write(`[${name}] ${d}`));
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes(readyText)) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code}\n${out}`)));
  });
}
async function json(url, init) {
  const res = await fetch(url, init);
  return res.json();
}

async function main() {
  const simPort = await pickPort(Number(process.env.SIM_PORT || 4010));
  const bffPort = await pickPort(Number(process.env.PORT || 3000));
  const simUrl = `http://127.0.0.1:${simPort}`;
  await start(
    'portal-sim',
    'dist/apps/portal-sim/src/main.js',
    { SIM_PORT: String(simPort), SIM_PROFILE: process.env.SIM_PROFILE || 'demo' },
    'portal-sim listening',
  );
  process.on('SIGINT', () => {
    stopAll();
    process.exit(0);
  });
  process.on('SIGTERM', () => {
    stopAll();
    process.exit(0);
  });

  const appKey = process.env.SIM_APP_KEY || 'demo-app-key';
  const appSecret = process.env.SIM_APP_SECRET || 'demo-app-secret';
  const redisUrl = process.env.REDIS_URL || ((await redisAnswers()) ? 'redis://127.0.0.1:6379/0' : undefined);
  const demoKey = `demo-${randomBytes(16).toString('hex')}`;
  const orgs = await json(`${simUrl}/__sim/orgs`);
  const org = orgs[0];
  const detail = await json(`${simUrl}/__sim/orgs/${encodeURIComponent(org.orgId)}`);
  const user = detail.userAssetCounts.find((u) => u.assets > 0) || detail.userAssetCounts[0];
  const env = {
    PORT: String(bffPort),
    HOST: process.env.HOST || '127.0.0.1',
    PORTAL_BASE_URL: simUrl,
    PORTAL_APP_KEY: appKey,
    PORTAL_APP_SECRET: appSecret,
    JWT_JWKS_URL: `${simUrl}/.well-known/jwks.json`,
    API_KEYS: JSON.stringify([{ id: 'demo', sha256: sha256(demoKey), orgs: ['*'], scopes: ['assets:read', 'cache:write'] }]),
    LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
  };
  if (redisUrl) env.REDIS_URL = redisUrl;
  else delete process.env.REDIS_URL;
  await start('asset-bff', 'dist/apps/asset-bff/src/main.js', env, 'asset-bff listening');

  const login = await json(`${simUrl}/app-portal-service/v2.2/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account: user.userId, password: process.env.SIM_USER_PASSWORD || 'demo-password' }),
  });
  const session = await json(`${simUrl}/app-portal-service/v2.2/session/set`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${login.data.accessToken}` },
    body: JSON.stringify({ orgId: org.orgId }),
  });
  const token = session.data.accessToken;
  const accessKey = process.env.SIM_ACCESS_KEY || 'demo-access-key';
  const base = `http://127.0.0.1:${bffPort}`;
  const sample = await json(`${base}/v1/orgs/${org.orgId}/users/${user.userId}/assets`, { headers: { 'x-api-key': demoKey } });
  const assetId = sample.assets && sample.assets[0] ? sample.assets[0].id : 'some-asset';
  const users = detail.userAssetCounts.slice(0, 3).map((u) => u.userId);
  const lines = [
    '',
    `asset-bff demo is up: service ${base} (cache: ${redisUrl ? 'Redis ' + redisUrl.replace(/\/\/[^@]*@/, '//') : 'in-process'}), portal simulator ${simUrl}`,
    `Swagger UI: ${base}/docs   metrics: ${base}/metrics   readiness: ${base}/health/ready`,
    '',
    "# a user's assets (service caller, X-Api-Key):",
    `curl -s -H 'X-Api-Key: ${demoKey}' '${base}/v1/orgs/${org.orgId}/users/${user.userId}/assets?lang=zh_CN'`,
    '# many users at once:',
    `curl -s -H 'X-Api-Key: ${demoKey}' -H 'Content-Type: application/json' -d '{"userIds":${JSON.stringify(users)}}' '${base}/v1/orgs/${org.orgId}/user-assets'`,
    '# permission checks:',
    `curl -s -H 'X-Api-Key: ${demoKey}' -H 'Content-Type: application/json' -d '{"checks":[{"userId":"${user.userId}","assetId":"${assetId}"}]}' '${base}/v1/orgs/${org.orgId}/access-checks'`,
    '# drop the cached copy of the OU:',
    `curl -s -X DELETE -o /dev/null -w '%{http_code}\\n' -H 'X-Api-Key: ${demoKey}' '${base}/v1/orgs/${org.orgId}/cache'`,
    `# the same user as a browser would call (user token, valid ${Math.round(session.data.expire / 60)} min):`,
    `curl -s -H 'Authorization: Bearer ${token}' '${base}/v1/me/assets'`,
    `curl -s -H 'Authorization: Bearer ${token}' '${base}/v1/apps/${accessKey}/asset-tree?view=flat&lang=en_US'`,
    '',
    'Ctrl-C stops both.',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`demo failed: ${e.message}\n`);
  stopAll();
  process.exit(1);
});
