import fc from 'fast-check';
import { scanUsersAssetListAnswer } from './users-answer-scan';
import { digestUsersAssetListData } from './users-answer';

/** What reading the answer the usual way gives: JSON.parse of its UTF-8 text, `data` digested (undefined: not a success). */
function reference(bytes: Uint8Array): unknown {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  const code = (body as { code?: unknown })?.code;
  if (typeof body !== 'object' || body === null || (code !== 0 && code !== 200)) return undefined;
  return { ...(body as object), data: digestUsersAssetListData((body as { data?: unknown }).data) };
}

/** The index lists as plain arrays, for toEqual. */
function plain(envelope: unknown): unknown {
  const e = envelope as { data?: { lists?: Int32Array; offsets?: Int32Array } };
  if (!e?.data?.lists) return envelope;
  return { ...e, data: { ...e.data, lists: Array.from(e.data.lists), offsets: Array.from(e.data.offsets ?? []) } };
}

/** Scans the text's bytes: the scan's envelope, or undefined; and, when it scanned, the reference agrees. */
function scanned(text: string): unknown {
  const bytes = Buffer.from(text, 'utf8');
  const got = scanUsersAssetListAnswer(bytes);
  if (got) expect(plain(got.envelope)).toEqual(plain(reference(bytes)));
  return got && plain(got.envelope);
}

const asset = (i: number) => ({ id: `a${i}`, name: { default: `Asset ${i}`, zh_CN: `资产 ${i}` }, type: 'inverter', typeName: { default: 'Inverter', ja_JP: 'インバータ' } });
const answer = (users: { userId: string; userAssetIds?: string[] | null }[], assets = [asset(1)], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ code: 0, message: 'OK', ...extra, data: { usersUserAssets: users, userAssets: assets } });

describe('scanUsersAssetListAnswer: a users/assetList answer read from its bytes', () => {
  it('reads the usual answer as JSON.parse and digestUsersAssetListData do: users in answer order, each id once, repeats kept', () => {
    const text = answer([
      { userId: 'u1', userAssetIds: ['a1', 'a2', 'a1'] },
      { userId: 'u2', userAssetIds: [] },
      { userId: 'u3', userAssetIds: ['a2', 'a3'] },
      { userId: 'u1', userAssetIds: ['a3'] },
    ]);
    expect(scanned(text)).toEqual({
      code: 0,
      message: 'OK',
      data: {
        digest: 'users',
        userIds: ['u1', 'u2', 'u3', 'u1'],
        ids: ['a1', 'a2', 'a3'],
        lists: [0, 1, 0, 1, 2, 2],
        offsets: [0, 3, 3, 5, 6],
        userAssets: [asset(1)],
      },
    });
  });

  it('reads whitespace anywhere, keys in any order, userAssetIds absent or null, code 200, and no users at all', () => {
    const text = ` {\n "data" : { "userAssets" : [ ] , "usersUserAssets" : [ { "userAssetIds" : [ "b" , "a" ] , "userId" : "x" } ,\t{ "userId":"y" }, {"userId":"z","userAssetIds":null} ] } ,\r\n "code" : 200 } `;
    expect(scanned(text)).toEqual({
      data: { digest: 'users', userIds: ['x', 'y', 'z'], ids: ['b', 'a'], lists: [0, 1], offsets: [0, 2, 2, 2], userAssets: [] },
      code: 200,
    });
    expect(scanned(answer([]))).toMatchObject({ data: { digest: 'users', userIds: [], ids: [], lists: [], offsets: [0] } });
  });

  it.each([
    ['an error envelope', JSON.stringify({ code: 31404, message: 'not found', data: { usersUserAssets: [], userAssets: [] } })],
    ['text that is not JSON', '<html>502</html>'],
    ['a byte order mark', `\ufeff${answer([{ userId: 'u', userAssetIds: ['a'] }])}`],
    ['an escaped key', answer([{ userId: 'u', userAssetIds: ['a'] }]).replace('"data"', '"d\\u0061ta"')],
    ['an escape in an id', answer([{ userId: 'u', userAssetIds: ['a"b'] }])],
    ['an id that is not ASCII', answer([{ userId: 'u', userAssetIds: ['资产'] }])],
    ['a user id that is not ASCII', answer([{ userId: 'ü', userAssetIds: ['a'] }])],
    ['an id that is not a string', answer([{ userId: 'u', userAssetIds: ['a', 5 as unknown as string] }])],
    ['a user without userId', answer([{ userAssetIds: ['a'] } as never])],
    ['a user with another key', answer([{ userId: 'u', userAssetIds: ['a'], role: 'x' } as never])],
    ['a user whose key repeats', '{"code":0,"data":{"usersUserAssets":[{"userId":"u","userId":"v"}],"userAssets":[]}}'],
    ['data twice', '{"code":0,"data":{"usersUserAssets":[],"userAssets":[]},"data":{"usersUserAssets":[{"userId":"u"}],"userAssets":[]}}'],
    ['usersUserAssets twice', '{"code":0,"data":{"usersUserAssets":[],"usersUserAssets":[{"userId":"u"}],"userAssets":[]}}'],
    ['usersUserAssets null', '{"code":0,"data":{"usersUserAssets":null,"userAssets":[]}}'],
    ['no usersUserAssets', '{"code":0,"data":{"userAssets":[]}}'],
    ['data that is a list', '{"code":0,"data":[]}'],
    ['a trailing comma', '{"code":0,"data":{"usersUserAssets":[{"userId":"u","userAssetIds":["a",]}],"userAssets":[]}}'],
    ['text after the envelope', `${answer([{ userId: 'u', userAssetIds: ['a'] }])} x`],
    ['a malformed asset', answer([{ userId: 'u', userAssetIds: ['a'] }], [{ name: {} } as never])],
    ['a broken rest', answer([{ userId: 'u', userAssetIds: ['a'] }]).replace('"OK"', '"OK')],
  ])('leaves %s to the usual reading', (_, text) => {
    expect(scanned(text)).toBeUndefined();
  });

  it('reads large answers, and a small one after them with the tables it grew', () => {
    // 3,000 users of 40 ids out of 20,000: past the first sizes of every table
    const users = Array.from({ length: 3_000 }, (_, k) => ({ userId: `user-${k}`, userAssetIds: Array.from({ length: 40 }, (_, i) => `asset-${(k * 7 + i * 13) % 20_000}`) }));
    const big = scanned(answer(users)) as { data: { ids: string[]; lists: number[] } };
    expect(big.data.ids.length).toBeGreaterThan(8_192);
    expect(big.data.lists.length).toBe(120_000);
    expect(scanned(answer([{ userId: 'u', userAssetIds: ['asset-1', 'a2', 'asset-1'] }]))).toMatchObject({ data: { ids: ['asset-1', 'a2'], lists: [0, 1, 0], offsets: [0, 3] } });
    // past the 2^20 entries a thread keeps (1,100 users of 1,000 ids), then a small one with the tables made anew
    const huge = Array.from({ length: 1_100 }, (_, k) => ({ userId: `h${k}`, userAssetIds: Array.from({ length: 1_000 }, (_, i) => `x${(k + i) % 3_000}`) }));
    const hugeScan = scanned(answer(huge)) as { data: { ids: string[]; lists: number[] } };
    expect(hugeScan.data.lists.length).toBe(1_100_000);
    expect(hugeScan.data.ids.length).toBe(2_099);
    expect(scanned(answer([{ userId: 'v', userAssetIds: ['b', 'b', 'c'] }]))).toMatchObject({ data: { userIds: ['v'], ids: ['b', 'c'], lists: [0, 0, 1], offsets: [0, 3] } });
  });

  it('reads lists that repeat one another by comparing each id with the one predicted, and any list that breaks the run', () => {
    // u2 repeats u1 (every id predicted); u3 starts the same and breaks off with an id that extends the predicted one,
    // then one that is a prefix of it; u4 is in another order (found by hash), then runs on from a2
    const text = answer([
      { userId: 'u1', userAssetIds: ['a1', 'a2', 'a3', 'a4'] },
      { userId: 'u2', userAssetIds: ['a1', 'a2', 'a3', 'a4'] },
      { userId: 'u3', userAssetIds: ['a1', 'a2', 'a30', 'a', 'a4'] },
      { userId: 'u4', userAssetIds: ['a4', 'a1', 'a2', 'a30', 'a3', 'a3'] },
      { userId: 'u5', userAssetIds: ['a1', 'a2'] },
    ]);
    expect(scanned(text)).toMatchObject({
      data: {
        userIds: ['u1', 'u2', 'u3', 'u4', 'u5'],
        ids: ['a1', 'a2', 'a3', 'a4', 'a30', 'a'],
        lists: [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 4, 5, 3, 3, 0, 1, 4, 2, 2, 0, 1],
        offsets: [0, 4, 8, 13, 19, 21],
      },
    });
    // a predicted id followed by what is not a list's next: the usual reading
    expect(scanned(answer([{ userId: 'u1', userAssetIds: ['a1', 'a2'] }, { userId: 'u2', userAssetIds: ['a1'] }]).replace('"a1"]', '"a1" x]'))).toBeUndefined();
  });

  it('agrees with the usual reading on lists made of runs of one order, cut and shuffled anywhere (property)', () => {
    const order = Array.from({ length: 30 }, (_, i) => `asset-${i}`);
    const list = fc.tuple(fc.nat(29), fc.nat(12), fc.array(fc.nat(29), { maxLength: 3 })).map(([from, n, swaps]) => {
      const ids = order.slice(from, from + n);
      // a few ids swapped for any other: the run breaks there and starts again
      for (const x of swaps) if (ids.length) ids[x % ids.length] = order[(x * 7) % order.length];
      return ids;
    });
    fc.assert(
      fc.property(fc.array(list, { maxLength: 10 }), (lists) => {
        expect(scanned(answer(lists.map((ids, k) => ({ userId: `u${k}`, userAssetIds: ids }))))).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with the usual reading on any answer, and scans every answer of plain ids (property)', () => {
    const plainId = fc.stringMatching(/^[A-Za-z0-9_.:-]{0,12}$/);
    const anyId = fc.oneof(plainId, fc.string({ maxLength: 6 }), fc.constantFrom('a"b', 'a\\b', '资产', 'tab\there'));
    const space = fc.constantFrom('', ' ', '\n', '\t ', '\r\n');
    const user = (id: fc.Arbitrary<string>) =>
      fc.record({ userId: id, userAssetIds: fc.oneof(fc.array(id, { maxLength: 8 }), fc.constant(null), fc.constant(undefined)) }, { requiredKeys: ['userId'] });
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.boolean(), fc.nat(20)), { maxLength: 20 }), space, (plainOnly, picks, sp) => {
        // ids from a small pool, so that users share ids and repeat them
        const pool = plainOnly ? ['a', 'b', 'x-1', 'y.2', '_', ''] : ['a', 'b', 'a"b', '资产', 'a\\u', ''];
        const users = picks.map(([dup, n]) => ({ userId: `u${dup ? 0 : n}`, userAssetIds: Array.from({ length: n % 6 }, (_, i) => pool[(n + i * 5) % pool.length]) }));
        const text = answer(users).replace(/([{}[\],:])/g, `$1${sp}`);
        const got = scanned(text);
        if (plainOnly) expect(got).toBeDefined();
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(user(anyId), { maxLength: 6 }), (users) => {
        scanned(answer(users));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(user(plainId), { maxLength: 6 }), (users) => {
        expect(scanned(answer(users))).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });
});
