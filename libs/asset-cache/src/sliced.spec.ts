import fc from 'fast-check';
import { forEachSliced, mapSliced } from './sliced';

describe('sliced loops', () => {
  it('visit every item once, in order, with its index (fast-check: any length and slice)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), async (items, slice) => {
        const seen: [number, number][] = [];
        await forEachSliced(items, (item, i) => seen.push([item, i]), slice);
        expect(seen).toEqual(items.map((item, i) => [item, i]));
        expect(await mapSliced(items, (item, i) => item * 2 + i, slice)).toEqual(items.map((item, i) => item * 2 + i));
      }),
    );
  });

  it('let other work run between slices, not within one', async () => {
    const order: string[] = [];
    const other = new Promise<void>((resolve) =>
      setImmediate(() => {
        order.push('other');
        resolve();
      }),
    );
    await forEachSliced([1, 2, 3, 4], (n) => order.push(`item ${n}`), 2);
    await other;
    expect(order).toEqual(['item 1', 'item 2', 'other', 'item 3', 'item 4']);
  });
});
