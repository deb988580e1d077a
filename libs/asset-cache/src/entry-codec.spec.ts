import { decodeDetails, decodeEntry, encodeDetails, encodeEntry, encodeEntrySliced, entryIndexes, isTypedDetails, StoredEntry } from './entry-codec';
import { SLICE_ITEMS } from './sliced';

describe('entry codec', () => {
  const indexOf = new Map(Array.from({ length: 500 }, (_, i) => [`asset-${i}`, i + 1]));

  it('round-trips a set as dictionary indexes in upstream order', () => {
    const e: StoredEntry = {
      gens: { og: 'o3', ug: 'u1' },
      loadedAt: 1_700_000_000_000,
      freshUntil: 1_700_000_300_000,
      set: { assetIds: ['asset-499', 'asset-0', 'asset-35'], total: 3, complete: false },
    };
    const raw = decodeEntry(encodeEntry(e, 'ep0ch', indexOf));
    expect(raw).toMatchObject({
      gens: { og: 'o3', ug: 'u1' },
      loadedAt: e.loadedAt,
      freshUntil: e.freshUntil,
      negative: false,
      total: 3,
      complete: false,
      epoch: 'ep0ch',
    });
    expect(entryIndexes(raw!)).toEqual([500, 1, 36]);
  });

  it('writes the same text for indexes below and above its table of made index texts', () => {
    const big = new Map([
      ['low', 35],
      ['edge', (1 << 17) - 1],
      ['high', 1 << 17],
      ['huge', 5_000_000],
    ]);
    const e: StoredEntry = {
      gens: { og: 'o0', ug: 'u0' },
      loadedAt: 1,
      freshUntil: 2,
      set: { assetIds: ['huge', 'low', 'high', 'edge', 'low'], total: 5, complete: true },
    };
    const s = encodeEntry(e, 'e', big);
    expect(s.split('|')[8]).toBe([5_000_000, 35, 1 << 17, (1 << 17) - 1, 35].map((n) => n.toString(36)).join(','));
    expect(entryIndexes(decodeEntry(s)!)).toEqual([5_000_000, 35, 1 << 17, (1 << 17) - 1, 35]);
    // a second encoding (the texts now made) is the same
    expect(encodeEntry(e, 'e', big)).toBe(s);
  });

  it('encodes a big set a slice at a time, to the same text as encodeEntry', async () => {
    const ids = Array.from({ length: 3 * SLICE_ITEMS + 7 }, (_, i) => `big-${i}`);
    const big = new Map(ids.map((id, i) => [id, 7 * i]));
    for (const assetIds of [ids.slice(0, 3), ids]) {
      const e: StoredEntry = { gens: { og: 'o0', ug: 'u0' }, loadedAt: 1, freshUntil: 2, set: { assetIds, total: assetIds.length, complete: true } };
      let ran = false;
      setImmediate(() => (ran = true));
      const text = await encodeEntrySliced(e, 'e', big);
      expect({ size: assetIds.length, same: text === encodeEntry(e, 'e', big), otherWorkRan: ran }).toEqual({
        size: assetIds.length,
        same: true,
        otherWorkRan: assetIds.length > SLICE_ITEMS,
      });
    }
    const negative: StoredEntry = { gens: { og: 'o0', ug: 'u0' }, loadedAt: 1, freshUntil: 2, set: null };
    expect(await encodeEntrySliced(negative, 'e', big)).toBe(encodeEntry(negative, 'e', big));
    const lost: StoredEntry = { ...negative, set: { assetIds: [...ids, 'unknown'], total: ids.length + 1, complete: true } };
    await expect(encodeEntrySliced(lost, 'e', big)).rejects.toThrow('asset id missing from the OU dictionary');
  });

  it('round-trips a negative entry and an empty set', () => {
    const neg = decodeEntry(encodeEntry({ gens: { og: 'o0', ug: 'u0' }, loadedAt: 1, freshUntil: 2, set: null }, 'e', indexOf));
    expect(neg).toMatchObject({ negative: true, loadedAt: 1, freshUntil: 2 });
    const empty = decodeEntry(
      encodeEntry({ gens: { og: 'o0', ug: 'u0' }, loadedAt: 1, freshUntil: 2, set: { assetIds: [], total: 0, complete: true } }, 'e', indexOf),
    );
    expect(empty).toMatchObject({ negative: false, total: 0 });
    expect(entryIndexes(empty!)).toEqual([]);
  });

  it('keeps a user with 500 assets to a few bytes per asset', () => {
    const ids = [...indexOf.keys()];
    const s = encodeEntry(
      {
        gens: { og: 'k3J9x_Qm2ZbA.0', ug: 'Zr8-pQ1wXy0c.1' },
        loadedAt: Date.now(),
        freshUntil: Date.now() + 300_000,
        set: { assetIds: ids, total: 500, complete: true },
      },
      'abcdefgh',
      indexOf,
    );
    expect(s.length).toBeLessThan(500 * 3 + 80);
  });

  it('treats malformed or other-version values as misses', () => {
    for (const bad of [null, '', 'garbage', '1|a|b|1|2|-', '3|a|b|1|2|-', '2||b|1|2|-', '2|a|b|x|2|-', '2|a|b|1|2|3|1'])
      expect(decodeEntry(bad)).toBeUndefined();
  });

  it('refuses to encode an id the dictionary does not know', () => {
    expect(() =>
      encodeEntry({ gens: { og: 'o0', ug: 'u0' }, loadedAt: 1, freshUntil: 2, set: { assetIds: ['nope'], total: 1, complete: true } }, 'e', indexOf),
    ).toThrow();
  });
});

describe('details codec', () => {
  it('round-trips typed and untyped details and tells them apart', () => {
    const typed = encodeDetails({ names: { default: 'INV-01', zh_CN: '逆变器' }, type: 'inverter', typeNames: { default: 'Inverter' } });
    const untyped = encodeDetails({ names: { default: 'INV-01' } });
    expect(isTypedDetails(typed)).toBe(true);
    expect(isTypedDetails(untyped)).toBe(false);
    expect(decodeDetails(typed)).toEqual({ names: { default: 'INV-01', zh_CN: '逆变器' }, type: 'inverter', typeNames: { default: 'Inverter' } });
    expect(decodeDetails(untyped)).toEqual({ names: { default: 'INV-01' } });
    expect(decodeDetails('X{}')).toBeUndefined();
    expect(decodeDetails('T{broken')).toBeUndefined();
  });
});
