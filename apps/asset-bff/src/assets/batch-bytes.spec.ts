import type { CachedUserSet, CacheStatus, UserAssetSet } from '@app/asset-cache';
import { AnswerParts, joinedBytes } from '../common/answer-bytes';
import { batchBytes, BatchResult, digestElements, LoadedRuns, UserElements } from './batch-bytes';

/** The answer's text, however its bytes came (one buffer or parts). */
const text = (...a: Parameters<typeof batchBytes>): string => joinedBytes(batchBytes(...a)).toString('utf8');

describe('batchBytes', () => {
  const names = { default: 'Site "1"', zh_CN: '场站 \u2028 1', ja_JP: 'サイト \ud83d\ude00', odd: 'lone \ud800 surrogate \\ </script>' };
  const set = (assetIds: string[]): UserAssetSet => ({ assetIds, total: assetIds.length, complete: true });
  const entry = (userId: string, s: UserAssetSet | null, status: CacheStatus): CachedUserSet => ({ userId, set: s, status, ageS: 0, loadedAt: 0 });
  const assets: BatchResult['assets'] = [
    { id: 'a1', name: names.zh_CN, names, type: 'site', typeName: '场站', typeNames: { default: 'Site', zh_CN: '场站' } },
    { id: 'a2', name: 'a2', names: { default: 'a2' }, type: null, typeName: null, typeNames: null },
    { id: 'a\u00e9', name: names.odd, names, type: '', typeName: null, typeNames: null },
  ];
  const expected = (orgId: string, users: string[], entries: Map<string, CachedUserSet>, a: BatchResult['assets']): string =>
    JSON.stringify({ orgId, users: users.map((userId) => ({ userId, assetIds: entries.get(userId)?.set?.assetIds ?? [] })), assets: a } satisfies BatchResult);

  it('gives the bytes of one JSON.stringify of the answer: cached users, just loaded ones, unknown ones, in any mix', () => {
    const elements = new UserElements();
    const all = [
      entry('u1', set(['a1', 'a2']), 'HIT'),
      entry('u2', set(['a\u00e9', 'a1']), 'MISS'),
      entry('u3', set(['a2']), 'HIT'),
      entry('u4', null, 'HIT'),
      entry('u5', set(['a1']), 'STALE'),
      entry('u6', set([]), 'HIT'),
    ];
    const entries = new Map(all.map((e) => [e.userId, e]));
    const cases: [string, string[]][] = [
      ['o1', []],
      ['o1', ['u4']],
      ['o1', ['u1']],
      ['o1', ['u2']],
      ['org.with:chars-_', ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'ghost']],
      ['o1', ['ghost', 'u3', 'u1', 'u2', 'u5']],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [orgId, users] of cases) {
        for (const a of [[], assets]) expect(text(orgId, users, entries, a, elements)).toBe(expected(orgId, users, entries, a));
      }
    }
  });

  it('keeps a large answer (a cold batch of 10 MB) in parts: the chunks\' elements as they were made, the rest joined', () => {
    const elements = new UserElements();
    const ids = Array.from({ length: 60 }, (_, i) => `asset-${i}`);
    const chunk = (k: number) => Array.from({ length: 1_000 }, (_, i) => `u${k}-${i}`);
    const runs = new LoadedRuns();
    const entries = new Map<string, CachedUserSet>();
    for (let k = 0; k < 2; k++) {
      const users = chunk(k);
      const sets = users.map(() => set(ids));
      users.forEach((u, i) => entries.set(u, entry(u, sets[i], 'MISS')));
      const bytes = new TextEncoder().encode(users.map((userId) => `,${JSON.stringify({ userId, assetIds: ids })}`).join(''));
      runs.add(users, sets, bytes);
    }
    // a cached user and an unknown one between the chunks
    entries.set('c1', entry('c1', set(['a1']), 'HIT'));
    const users = [...chunk(0), 'c1', 'ghost', ...chunk(1)];
    const body = batchBytes('o1', users, entries, assets, elements, runs);
    expect(body).toBeInstanceOf(AnswerParts);
    const parts = (body as AnswerParts).parts;
    // the second chunk's bytes are sent as the run holds them (the first one's lost its leading comma: a view)
    expect(parts).toContain(runs.at(users, 1_002, entries)?.bytes);
    expect(parts.length).toBeLessThanOrEqual(5);
    expect(joinedBytes(body).toString('utf8')).toBe(expected('o1', users, entries, assets));
    expect((body as AnswerParts).length).toBe(Buffer.byteLength(expected('o1', users, entries, assets)));
  });

  it('serializes a cached set once, never a just-loaded one, and never gives one user the element made for another', () => {
    const elements = new UserElements();
    const s = set(['a1', 'a2']);
    const first = elements.of('u1', entry('u1', s, 'HIT'));
    expect(first?.toString()).toBe(',{"userId":"u1","assetIds":["a1","a2"]}');
    expect(elements.of('u1', entry('u1', s, 'HIT'))).toBe(first);
    expect(elements.of('u1', entry('u1', set(['a1', 'a2']), 'HIT'))).not.toBe(first);
    expect(elements.of('u2', entry('u2', s, 'HIT'))?.toString()).toBe(',{"userId":"u2","assetIds":["a1","a2"]}');
    expect(elements.of('u1', entry('u1', set(['a1']), 'MISS'))).toBeUndefined();
    expect(elements.of('u1', entry('u1', null, 'HIT'))).toBeUndefined();
    expect(elements.of('u1', undefined)).toBeUndefined();
  });

  it('takes users just loaded from their chunks\' runs where the answer names the chunk\'s users in order with its very sets, and serializes the rest', () => {
    const elements = new UserElements();
    const s1 = set(['a1', 'a2']);
    const s2 = set(['a\u00e9']);
    const s3 = set([]);
    const s4 = set(['a2', 'a1']);
    const runs = new LoadedRuns();
    runs.add(['u1', 'u2', 'u3'], [s1, s2, s3]);
    // a run made elsewhere (a page worker) is taken as given
    const prepared = new TextEncoder().encode(',{"userId":"u4","assetIds":["a2","a1"]},{"userId":"ghost","assetIds":[]}');
    runs.add(['u4', 'ghost'], [s4, null], prepared);
    const loaded = (entriesOf: CachedUserSet[]): Map<string, CachedUserSet> => new Map(entriesOf.map((e) => [e.userId, e]));
    const fresh = loaded([entry('u1', s1, 'MISS'), entry('u2', s2, 'MISS'), entry('u3', s3, 'MISS'), entry('u4', s4, 'MISS'), entry('c1', set(['a1']), 'HIT')]);
    const cases: [string[], Map<string, CachedUserSet>][] = [
      [['u1', 'u2', 'u3', 'u4', 'ghost'], fresh],
      [['c1', 'u1', 'u2', 'u3', 'c1x', 'u4', 'ghost'], fresh],
      // not the chunk's order, a user between, a run cut short: serialized
      [['u2', 'u1', 'u3'], fresh],
      [['u1', 'c1', 'u2', 'u3'], fresh],
      [['u4'], fresh],
      // a user served from another copy (STALE after a failed reload): serialized from that copy
      [['u1', 'u2', 'u3'], loaded([entry('u1', s1, 'MISS'), entry('u2', set(['a2']), 'STALE'), entry('u3', s3, 'MISS')])],
    ];
    for (const [users, entries] of cases) {
      for (const a of [[], assets]) expect(text('o1', users, entries, a, elements, runs)).toBe(expected('o1', users, entries, a));
    }
    // The given bytes were used as they are, not serialized again.
    const bogus = new LoadedRuns();
    bogus.add(['u1'], [s1], new TextEncoder().encode(',{"userId":"u1","assetIds":["made-elsewhere"]}'));
    expect(text('o1', ['u1'], fresh, [], elements, bogus)).toContain('made-elsewhere');
  });

  it("gives the union of the users' ids from the runs' own only when runs with ids make up the whole answer", () => {
    const set = (assetIds: string[]): UserAssetSet => ({ assetIds, total: assetIds.length, complete: true });
    const entry = (userId: string, s: UserAssetSet | null, status: CacheStatus): CachedUserSet => ({ userId, set: s, status, ageS: 0, loadedAt: 0 });
    const s1 = set(['a', 'b']);
    const s2 = set(['b', 'c']);
    const s3 = set(['d', 'a']);
    const runs = new LoadedRuns();
    // the run's ids are taken as given (here in an order the sets would not give: proof that they were used)
    runs.add(['u1', 'u2'], [s1, s2], undefined, ['c', 'b', 'a']);
    runs.add(['u3'], [s3], undefined, ['d', 'a']);
    const entries = new Map([entry('u1', s1, 'MISS'), entry('u2', s2, 'MISS'), entry('u3', s3, 'MISS')].map((e) => [e.userId, e]));
    expect(runs.idsOf(['u1', 'u2', 'u3'], entries)).toEqual(['c', 'b', 'a', 'd']);
    // a user not from a run, runs out of order, another set than the run's, a run without ids: not from the runs
    expect(runs.idsOf(['u1', 'u2', 'u3', 'u4'], entries)).toBeUndefined();
    expect(runs.idsOf(['u3', 'u1', 'u2'], entries)).toEqual(['d', 'a', 'c', 'b']);
    expect(runs.idsOf(['u2', 'u1', 'u3'], entries)).toBeUndefined();
    const stale = new Map(entries).set('u3', entry('u3', set(['d', 'a']), 'STALE'));
    expect(runs.idsOf(['u1', 'u2', 'u3'], stale)).toBeUndefined();
    const bare = new LoadedRuns();
    bare.add(['u1', 'u2'], [s1, s2]);
    expect(bare.idsOf(['u1', 'u2'], entries)).toBeUndefined();
    expect(new LoadedRuns().idsOf(['u1'], entries)).toBeUndefined();
  });

  it('makes a digest\'s elements as the client folds the lists: answer order, each id once per user, odd strings escaped', () => {
    const ids = ['a1', 'a\u2028"x"', 'a3'];
    const lists = Int32Array.from([0, 1, 0, 2, 2, 1]);
    const offsets = Int32Array.from([0, 3, 3, 6]);
    const made = digestElements(['u1', 'u2', 'u3'], ids, lists, offsets);
    const users = [
      { userId: 'u1', assetIds: ['a1', 'a\u2028"x"'] },
      { userId: 'u2', assetIds: [] },
      { userId: 'u3', assetIds: ['a3', 'a\u2028"x"'] },
    ];
    expect(Buffer.from(made).toString('utf8')).toBe(`,${JSON.stringify(users).slice(1, -1)}`);
    expect(digestElements([], [], new Int32Array(0), Int32Array.from([0])).byteLength).toBe(0);
  });

  it('writes the same bytes as JSON.stringify for non-ASCII ids and users, repeats and empty lists, in a buffer of their own', () => {
    const ids = ['a\u00e9', 'b', '\ud83d\ude00-c', 'd\\e', 'f\u2028', 'x'.repeat(128)];
    const userIds = ['u\u00fc1', 'u2', 'u3', '\u573a\u7ad9', 'u5'];
    // user k: ids (k * 7 + i) % 6 for i < k * 3, so later users repeat ids; u1 has none
    const lists: number[] = [];
    const offsets = [0];
    const users = userIds.map((userId, k) => {
      const own: string[] = [];
      for (let i = 0; i < k * 3; i++) {
        const j = (k * 7 + i * (k + 1)) % ids.length;
        lists.push(j);
        if (!own.includes(ids[j])) own.push(ids[j]);
      }
      offsets.push(lists.length);
      return { userId, assetIds: own };
    });
    // and one with every id in a row (one copied range, longer than the loop copies), then the first again
    lists.push(0, 1, 2, 3, 4, 5, 0);
    offsets.push(lists.length);
    users.push({ userId: 'u6', assetIds: [...ids] });
    userIds.push('u6');
    const made = digestElements(userIds, ids, Int32Array.from(lists), Int32Array.from(offsets));
    expect(Buffer.from(made).toString('utf8')).toBe(`,${JSON.stringify(users).slice(1, -1)}`);
    // the whole buffer is the elements (handed over to another thread, never a slice of a shared pool)
    expect(made.byteOffset).toBe(0);
    expect(made.buffer.byteLength).toBe(made.byteLength);
  });
});
