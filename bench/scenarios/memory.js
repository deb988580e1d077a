'use strict';
// Redis bytes per cached user: 10,000 users each with 500 of an OU's 5,000 assets (different windows),
// INFO memory before and after warming them, against the size of each user's full JSON answer.
const { bff, simAdmin, pool } = require('../lib/http');
const { warm } = require('./setup');

const MEM_ORG = 'bench-mem';
const MEM_ASSETS = 5_000;
const MEM_USERS = 10_000;
const MEM_ASSETS_PER_USER = 500;
/** Users whose full answer is fetched to size it. */
const SAMPLE = 20;

const RUNS = 5;
const RUN_LENGTH = MEM_ASSETS_PER_USER / RUNS;

/** 500 distinct asset ids: RUNS windows of RUN_LENGTH in RUNS disjoint slices of the OU, offsets from a LCG. */
function grantOf(i) {
  let seed = ((i + 1) * 2654435761) % 2 ** 31;
  const slice = MEM_ASSETS / RUNS;
  const ids = [];
  for (let r = 0; r < RUNS; r++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const start = r * slice + (seed % (slice - RUN_LENGTH));
    for (let k = 0; k < RUN_LENGTH; k++) ids.push(`${MEM_ORG}-a${String(start + k + 1).padStart(4, '0')}`);
  }
  return ids;
}

const memUser = (i) => `${MEM_ORG}-u${String(i + 1).padStart(5, '0')}`;

async function run(ctx) {
  const { sim, redis, bffMain } = ctx;
  await simAdmin(sim, 'POST', '/orgs', { orgId: MEM_ORG, assetCount: MEM_ASSETS });
  const ids = Array.from({ length: MEM_USERS }, (_, i) => memUser(i));
  const t0 = Date.now();
  // every user a different set: 5 runs of 100 assets at pseudo-random places (like a few sites each)
  await pool(ids, 16, (userId, i) => simAdmin(sim, 'POST', `/orgs/${MEM_ORG}/users`, { userId, assetIds: grantOf(i) }));
  const createMs = Date.now() - t0;
  const before = Number(redis.info('memory').used_memory);
  const keysBefore = Number(redis.cli('dbsize'));
  const warmMs = await warm(bffMain.url, MEM_ORG, ids);
  await new Promise((r) => setTimeout(r, 500));
  const after = Number(redis.info('memory').used_memory);
  const keysAfter = Number(redis.cli('dbsize'));
  let jsonBytes = 0;
  for (let k = 0; k < SAMPLE; k++) {
    const r = await bff(bffMain.url, 'GET', `/v1/orgs/${MEM_ORG}/users/${memUser(Math.floor((k * MEM_USERS) / SAMPLE))}/assets`);
    if (r.status !== 200) throw new Error(`memory sample read: ${r.status}`);
    jsonBytes += r.bytes;
  }
  const fullJsonBytesPerUser = jsonBytes / SAMPLE;
  const bytesPerUser = (after - before) / MEM_USERS;
  return {
    users: MEM_USERS,
    assetsPerUser: MEM_ASSETS_PER_USER,
    usedMemoryBefore: before,
    usedMemoryAfter: after,
    keysAdded: keysAfter - keysBefore,
    bytesPerUser,
    fullJsonBytesPerUser,
    ratio: bytesPerUser / fullJsonBytesPerUser,
    setupMs: createMs,
    warmMs,
  };
}

module.exports = { run };
