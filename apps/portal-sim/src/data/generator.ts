import { I18nString } from '@app/portal-contracts';
import { SimProfile } from '../config/sim-config';
import { Grant, GrantWindow } from './grant';
import { ORG_NAMES, REGIONS, RESOURCE_TYPES, SITE_KINDS, SITE_WORDS } from './names';
import { Prng, randomId } from './prng';
import { SimAsset, SimData, SimOrg, SimResourceType, StructureNode } from './sim-model';

/** Sizes of a generated profile: the first OU has `users`/`assets`, the others `secondaryScale` of that. */
export interface ProfileSizes {
  orgs: number;
  users: number;
  assets: number;
  secondaryScale: number;
  /** Every `bigUserEvery`-th user (from the first) gets `bigUserAssets` assets. */
  bigUserEvery: number;
  bigUserAssets: number;
  /** Largest ordinary grant. */
  maxUserAssets: number;
}

export const PROFILE_SIZES: Record<Exclude<SimProfile, 'test'>, ProfileSizes> = {
  demo: { orgs: 2, users: 40, assets: 300, secondaryScale: 0.5, bigUserEvery: 20, bigUserAssets: 300, maxUserAssets: 60 },
  large: { orgs: 2, users: 50_000, assets: 100_000, secondaryScale: 0.1, bigUserEvery: 1_000, bigUserAssets: 12_000, maxUserAssets: 500 },
};

/** Generates the data of a profile; the same (profile, seed, sizes) always gives the same data. */
export function generateProfile(profile: SimProfile, seed: number, overrides: Partial<ProfileSizes> = {}): SimData {
  if (profile === 'test') return generateTestProfile();
  const sizes = { ...PROFILE_SIZES[profile], ...definedOnly(overrides) };
  const rng = new Prng(seed);
  const data = emptyData();
  const usedIds = new Set<string>();
  for (let o = 0; o < sizes.orgs; o++) {
    const scale = o === 0 ? 1 : sizes.secondaryScale;
    const orgId = `o${o + 1}`;
    const assetCount = Math.max(1, Math.round(sizes.assets * scale));
    const userCount = Math.max(1, Math.round(sizes.users * scale));
    const assets = generateAssets(rng, assetCount, () => uniqueId(rng, usedIds));
    const org = new SimOrg(orgId, ORG_NAMES[o % ORG_NAMES.length], assets, generateTree(rng, orgId, ORG_NAMES[o % ORG_NAMES.length], assetCount));
    for (let u = 0; u < userCount; u++) {
      const userId = `u${String(u + 1).padStart(5, '0')}`;
      org.users.set(userId, Grant.ofWindows(randomWindows(rng, u, assetCount, sizes), assetCount));
    }
    data.orgs.set(orgId, org);
  }
  return data;
}

function definedOnly<T extends object>(o: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function emptyData(): SimData {
  const resourceTypes = new Map<string, SimResourceType>();
  for (const t of RESOURCE_TYPES) resourceTypes.set(t.code, { code: t.code, typeName: t.typeName });
  return { resourceTypes, orgs: new Map() };
}

function uniqueId(rng: Prng, used: Set<string>): string {
  for (;;) {
    const id = randomId(rng);
    if (!used.has(id)) {
      used.add(id);
      return id;
    }
  }
}

function randomWindows(rng: Prng, userIndex: number, assetCount: number, sizes: ProfileSizes): GrantWindow[] {
  if (userIndex % sizes.bigUserEvery === 0) return [{ offset: rng.int(0, assetCount - 1), count: Math.min(sizes.bigUserAssets, assetCount) }];
  const windows: GrantWindow[] = [];
  const parts = rng.int(1, 2);
  for (let p = 0; p < parts; p++) windows.push({ offset: rng.int(0, assetCount - 1), count: rng.int(0, Math.min(sizes.maxUserAssets, assetCount)) });
  return windows;
}

/** Assets with realistic I18n names; some locale keys are missing or empty, as in real data. */
export function generateAssets(rng: Prng, count: number, nextId: (i: number) => string): SimAsset[] {
  const assets: SimAsset[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const t = RESOURCE_TYPES[Math.floor(rng.next() * RESOURCE_TYPES.length)];
    const serial = `${t.label.prefix}-${String(i + 1).padStart(4, '0')}`;
    const name: I18nString = { default: `${t.label.en} ${serial}`, en_US: `${t.label.en} ${serial}` };
    if (!rng.chance(0.05)) name.zh_CN = rng.chance(0.05) ? '' : `${t.label.zh} ${serial}`;
    if (rng.chance(0.6)) name.ja_JP = `${t.label.ja} ${serial}`;
    if (rng.chance(0.01)) delete name.default;
    assets[i] = { id: nextId(i), name, type: t.code };
  }
  return assets;
}

/**
 * An org-structure tree under the OU root: regions, sites and (for big OUs) arrays, about 50 assets per
 * leaf, assets mounted on leaves in contiguous index order, one associated resource per non-root node.
 */
export function generateTree(rng: Prng, orgId: string, orgName: I18nString, assetCount: number): StructureNode {
  const leavesWanted = Math.max(1, Math.ceil(assetCount / 50));
  const levels = leavesWanted > 100 ? 3 : 2;
  const fan = Math.max(1, Math.ceil(Math.pow(leavesWanted, 1 / levels)));
  const root = structureNode(orgId, orgName, [], 0);
  const leaves: StructureNode[] = [];
  const regionCount = Math.min(fan, leavesWanted);
  for (let r = 0; r < regionCount; r++) {
    const region = structureNode(`${orgId}-n${r + 1}`, REGIONS[r % REGIONS.length], [{ id: 1, key: 'level', value: 'region' }], r);
    root.children.push(region);
    for (let s = 0; s < fan; s++) {
      const word = rng.pick(SITE_WORDS);
      const kind = rng.pick(SITE_KINDS);
      const site = structureNode(
        `${region.id}-${s + 1}`,
        { default: `${word.en} ${kind.en} ${s + 1}`, en_US: `${word.en} ${kind.en} ${s + 1}`, zh_CN: `${word.zh}${kind.zh}${s + 1}` },
        [
          { id: 1, key: 'level', value: 'site' },
          { id: 2, key: 'kind', value: kind.en.toLowerCase().replace(/ /g, '_') },
        ],
        s,
      );
      region.children.push(site);
      if (levels === 2) leaves.push(site);
      else {
        for (let a = 0; a < fan; a++) {
          const area = structureNode(
            `${site.id}-${a + 1}`,
            { default: `Array ${a + 1}`, en_US: `Array ${a + 1}`, zh_CN: `方阵${a + 1}` },
            [{ id: 1, key: 'level', value: 'array' }],
            a,
          );
          site.children.push(area);
          leaves.push(area);
        }
      }
    }
  }
  mountAssets(root, leaves, assetCount);
  return root;
}

/** Mounts asset i on leaf floor(i * leaves / assetCount) and sets one associated resource per non-root node. */
function mountAssets(root: StructureNode, leaves: StructureNode[], assetCount: number): void {
  for (let i = 0; i < assetCount; i++) leaves[Math.floor((i * leaves.length) / assetCount)].assets.push(i);
  const firstAsset = (n: StructureNode): number | undefined => (n.assets.length ? n.assets[0] : n.children.map(firstAsset).find((x) => x !== undefined));
  const walk = (n: StructureNode, isRoot: boolean): void => {
    if (!isRoot) {
      const a = firstAsset(n);
      if (a !== undefined) n.associated.push(a);
    }
    n.children.forEach((c) => walk(c, false));
  };
  walk(root, true);
}

function structureNode(id: string, name: I18nString, tags: StructureNode['tags'], displayOrder: number): StructureNode {
  return { id, name, tags, displayOrder, children: [], assets: [], associated: [] };
}

/** A simple two-level tree (groups of leaves) used for OUs created through the admin API and the test profile. */
export function regularTree(orgId: string, orgName: I18nString, groups: number, leavesPerGroup: number, assetCount: number): StructureNode {
  const root = structureNode(orgId, orgName, [], 0);
  const leaves: StructureNode[] = [];
  for (let g = 0; g < groups; g++) {
    const group = structureNode(
      `${orgId}-n${g + 1}`,
      { default: `Region ${g + 1}`, en_US: `Region ${g + 1}`, zh_CN: `区域${g + 1}` },
      [{ id: 1, key: 'level', value: 'region' }],
      g,
    );
    root.children.push(group);
    for (let l = 0; l < leavesPerGroup; l++) {
      const leaf = structureNode(
        `${group.id}-${l + 1}`,
        { default: `Site ${g + 1}.${l + 1}`, en_US: `Site ${g + 1}.${l + 1}`, zh_CN: `场站${g + 1}.${l + 1}` },
        [{ id: 1, key: 'level', value: 'site' }],
        leavesPerGroup - l, // reverse displayOrder so clients must sort
      );
      group.children.push(leaf);
      leaves.push(leaf);
    }
  }
  if (assetCount > 0) mountAssets(root, leaves, assetCount);
  return root;
}

/** Assets `<orgId>-a0001`.. with type RESOURCE_TYPES[i % 5]; ja_JP missing when i % 7 == 6, zh_CN empty when i % 11 == 10. */
export function sequentialAssets(orgId: string, count: number): SimAsset[] {
  const assets: SimAsset[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const t = RESOURCE_TYPES[i % RESOURCE_TYPES.length];
    const n = String(i + 1).padStart(4, '0');
    const name: I18nString = { default: `${t.label.en} ${n}`, en_US: `${t.label.en} ${n}`, zh_CN: i % 11 === 10 ? '' : `${t.label.zh} ${n}` };
    if (i % 7 !== 6) name.ja_JP = `${t.label.ja} ${n}`;
    assets[i] = { id: `${orgId}-a${n}`, name, type: t.code };
  }
  return assets;
}

/** The fixed `test` profile; documented in test/support/sim.ts. */
export function generateTestProfile(): SimData {
  const data = emptyData();
  const o1Name = { default: 'Test OU One', en_US: 'Test OU One', zh_CN: '测试组织一' };
  const o1 = new SimOrg('o1', o1Name, sequentialAssets('o1', 2500), regularTree('o1', o1Name, 5, 5, 2500));
  o1.users.set('u0001', Grant.ofWindows([{ offset: 0, count: 2500 }], 2500));
  o1.users.set('u0002', Grant.empty());
  o1.users.set('u0003', Grant.ofWindows([{ offset: 0, count: 1000 }], 2500));
  o1.users.set('u0004', Grant.ofWindows([{ offset: 0, count: 1001 }], 2500));
  for (let k = 5; k <= 20; k++) o1.users.set(`u${String(k).padStart(4, '0')}`, Grant.ofWindows([{ offset: (k - 5) * 10, count: 10 }], 2500));
  data.orgs.set('o1', o1);

  const o2Name = { default: 'Test OU Two', en_US: 'Test OU Two' };
  const o2 = new SimOrg('o2', o2Name, sequentialAssets('o2', 30), regularTree('o2', o2Name, 2, 3, 30));
  o2.users.set('u0001', Grant.ofWindows([{ offset: 0, count: 30 }], 30));
  for (let k = 1; k <= 5; k++) o2.users.set(`u${String(100 + k).padStart(4, '0')}`, Grant.ofWindows([{ offset: (k - 1) * 5, count: 5 }], 30));
  data.orgs.set('o2', o2);

  const o3Name = { default: 'Empty OU', en_US: 'Empty OU', zh_CN: '空组织' };
  const o3 = new SimOrg('o3', o3Name, [], regularTree('o3', o3Name, 0, 0, 0));
  o3.users.set('u0201', Grant.empty());
  data.orgs.set('o3', o3);
  return data;
}
