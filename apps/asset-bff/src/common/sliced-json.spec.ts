import fc from 'fast-check';
import { joinSliced, MappedList, slicedJsonBytes } from './sliced-json';

describe('slicedJsonBytes', () => {
  it('gives the bytes of JSON.stringify, whatever the arrays and the slice size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.array(fc.jsonValue(), { maxLength: 40 }), fc.jsonValue(), fc.constant(undefined))),
        fc.integer({ min: 1, max: 12 }),
        async (value, slice) => {
          expect((await slicedJsonBytes(value, slice)).equals(Buffer.from(JSON.stringify(value)))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('serializes an answer of 100,001 assets at the default slice size as JSON.stringify does', async () => {
    const assets = Array.from({ length: 100_001 }, (_, i) => ({ id: `a${i}`, name: `名前 ${i}`, names: { default: `n"${i}` } }));
    const answer = { orgId: 'o1', userId: 'u1', total: assets.length, complete: true, assets };
    expect((await slicedJsonBytes(answer)).equals(Buffer.from(JSON.stringify(answer)))).toBe(true);
  });

  it('serializes a MappedList as JSON.stringify does the mapped array, mapping each item once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string(), { maxLength: 40 }), fc.integer({ min: 1, max: 12 }), async (ids, slice) => {
        let mapped = 0;
        const list = new MappedList(ids, (id) => (mapped++, { id, name: id.toUpperCase() }));
        const bytes = await slicedJsonBytes({ total: ids.length, assets: list }, slice);
        expect(bytes.toString()).toBe(JSON.stringify({ total: ids.length, assets: ids.map((id) => ({ id, name: id.toUpperCase() })) }));
        expect(mapped).toBe(ids.length);
      }),
      { numRuns: 200 },
    );
  });

  it('lets other work run between slices', async () => {
    let ran = false;
    setImmediate(() => (ran = true));
    const done = slicedJsonBytes({ items: Array.from({ length: 10 }, (_, i) => i) }, 3);
    expect(ran).toBe(false);
    await done;
    expect(ran).toBe(true);
  });
});

describe('joinSliced', () => {
  it('gives the bytes of Buffer.concat, whatever the parts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), async (arrays) => {
        const parts = arrays.map((a) => Buffer.from(a));
        expect((await joinSliced(parts)).equals(Buffer.concat(parts))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('lets other work run while it joins megabytes', async () => {
    const parts = [0, 1, 2].map((k) => Buffer.alloc(1 << 20, k));
    let ran = false;
    setImmediate(() => (ran = true));
    const done = joinSliced(parts);
    expect(ran).toBe(false);
    expect((await done).equals(Buffer.concat(parts))).toBe(true);
    expect(ran).toBe(true);
  });
});
