'use strict';
// Bench data in the simulator (large profile) and the hot cache warmed through the service itself.
const { simAdmin, bff, pool } = require('../lib/http');

const HOT_ORG = 'bench';
const HOT_USERS = 10_000;
const HOT_ASSETS_PER_USER = 50;
/** Users per warming request (the service calls users/assetList in chunks of PORTAL_BATCH_SIZE). */
const WARM_CHUNK = 1_000;

const userId = (org, i) => `${org}-u${String(i + 1).padStart(4, '0')}`;
const userIds = (org, n, from = 0) => Array.from({ length: n }, (_, i) => userId(org, from + i));

/** The hot OU: 5,000 assets, 10,000 users with 50 assets each. */
async function createHotOrg(sim) {
  await simAdmin(sim, 'POST', '/orgs', { orgId: HOT_ORG, assetCount: 5_000, userCount: HOT_USERS, assetsPerUser: HOT_ASSETS_PER_USER });
}

/** Loads every user into the cache through POST user-assets, in chunks; returns the wall time. */
async function warm(base, org, ids, headers = {}) {
  const t0 = Date.now();
  const chunks = [];
  for (let i = 0; i < ids.length; i += WARM_CHUNK) chunks.push(ids.slice(i, i + WARM_CHUNK));
  await pool(chunks, 2, async (chunk) => {
    const r = await bff(base, 'POST', `/v1/orgs/${org}/user-assets`, { userIds: chunk }, headers);
    if (r.status !== 200) throw new Error(`warming ${org} failed: ${r.status} ${r.text.slice(0, 300)}`);
  });
  return Date.now() - t0;
}

module.exports = { HOT_ORG, HOT_USERS, HOT_ASSETS_PER_USER, userId, userIds, createHotOrg, warm };
