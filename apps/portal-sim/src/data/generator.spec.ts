import { generateProfile, generateTestProfile } from './generator';
import { fromDataFile } from './data-file';
import { Prng } from './prng';
import { SimData, StructureNode } from './sim-model';

function fingerprint(data: SimData): string {
  const parts: string[] = [];
  for (const org of data.orgs.values()) {
    parts.push(org.orgId, String(org.assets.length), JSON.stringify(org.assets.slice(0, 20)));
    for (const [userId, g] of org.users) parts.push(`${userId}:${g.count}:${g.slice(0, 3).join(',')}`);
    parts.push(JSON.stringify(org.root, (k, v) => (k === 'assets' ? v.length : v)));
  }
  return parts.join('|');
}

function leaves(n: StructureNode): StructureNode[] {
  return n.children.length ? n.children.flatMap(leaves) : [n];
}

function depth(n: StructureNode): number {
  return 1 + Math.max(0, ...n.children.map(depth));
}

describe('data generator', () => {
  it('Prng is deterministic per seed', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const c = new Prng(8);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('the same profile and seed give the same data; another seed gives other data', () => {
    expect(fingerprint(generateProfile('demo', 42))).toBe(fingerprint(generateProfile('demo', 42)));
    expect(fingerprint(generateProfile('demo', 42))).not.toBe(fingerprint(generateProfile('demo', 43)));
    expect(fingerprint(generateTestProfile())).toBe(fingerprint(generateProfile('test', 99)));
  });

  it('demo: a couple of OUs, tens of users, a few hundred assets, unique ids, a 3-level tree with every asset on a leaf', () => {
    const data = generateProfile('demo', 42);
    expect(data.orgs.size).toBe(2);
    const o1 = data.orgs.get('o1')!;
    expect(o1.users.size).toBe(40);
    expect(o1.assets).toHaveLength(300);
    expect(new Set(o1.assets.map((a) => a.id)).size).toBe(300);
    expect(depth(o1.root)).toBe(3);
    const mounted = o1.root.children.flatMap(leaves).flatMap((l) => l.assets);
    expect(mounted.sort((a, b) => a - b)).toEqual(o1.assets.map((_, i) => i));
    // Internal nodes mount no assets.
    const internal = (n: StructureNode): StructureNode[] => (n.children.length ? [n, ...n.children.flatMap(internal)] : []);
    expect(internal(o1.root).every((n) => n.assets.length === 0)).toBe(true);
    // Real data has gaps: some names miss a locale or have an empty one.
    expect(o1.assets.some((a) => a.name.ja_JP === undefined)).toBe(true);
  });

  it('size overrides apply to generated profiles', () => {
    const data = generateProfile('large', 1, { orgs: 1, users: 2_000, assets: 5_000 });
    expect(data.orgs.size).toBe(1);
    expect(data.orgs.get('o1')!.users.size).toBe(2_000);
    expect(data.orgs.get('o1')!.assets).toHaveLength(5_000);
  });

  it('large keeps grants as windows (cheap) with big users', () => {
    const o1 = generateProfile('large', 42).orgs.get('o1')!;
    expect(o1.users.size).toBe(50_000);
    expect(o1.assets.length).toBe(100_000);
    expect([...o1.users.values()].every((g) => g.isWindowed)).toBe(true);
    expect(o1.users.get('u00001')!.count).toBeGreaterThanOrEqual(10_000);
    expect(depth(o1.root)).toBe(4);
  });

  it('test profile matches its documentation', () => {
    const data = generateTestProfile();
    const o1 = data.orgs.get('o1')!;
    expect(
      o1.users
        .get('u0020')!
        .slice(0, 10)
        .map((i) => o1.assets[i].id),
    ).toEqual(Array.from({ length: 10 }, (_, k) => `o1-a${String(151 + k).padStart(4, '0')}`));
    expect(o1.assets[3].type).toBe('auth_unit');
    expect(leaves(o1.root)).toHaveLength(25);
    expect(leaves(o1.root)[0].assets).toHaveLength(100);
  });

  it('loads the same model from a data file', () => {
    const data = fromDataFile({
      orgs: [
        {
          orgId: 'x',
          assets: [
            { id: 'a', name: { default: 'A' }, type: 'meter' },
            { id: 'b', name: { default: 'B' }, type: 'site' },
          ],
          tree: [{ id: 'x-1', name: { default: 'S' }, assetIds: ['a', 'b'], associatedAssetIds: ['a'] }],
          users: [
            { userId: 'u1', assetIds: ['b'] },
            { userId: 'u2', windows: [[0, 2]] },
          ],
        },
      ],
    });
    const x = data.orgs.get('x')!;
    expect(x.root.children[0].assets).toEqual([0, 1]);
    expect(x.users.get('u1')!.slice(0, 5)).toEqual([1]);
    expect(x.users.get('u2')!.count).toBe(2);
    expect(() => fromDataFile({ orgs: [{ orgId: 'y', assets: [], users: [{ userId: 'u', assetIds: ['nope'] }] }] })).toThrow(/unknown asset/);
  });
});
