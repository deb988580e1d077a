import fc from 'fast-check';
import { coldIdle, forEachSliced } from './sliced';

describe('sliced loops', () => {
  it('visit every item once, in order, with its index (fast-check: any length and slice)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), async (items, slice) => {
        const seen: [number, number][] = [];
        await forEachSliced(items, (item, i) => seen.push([item, i]), slice);
        expect(seen).toEqual(items.map((item, i) => [item, i]));
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

  it('run one slice of all the loops running at once per turn of the event loop (a chain, not side by side)', async () => {
    let turn = 0;
    let counting = true;
    const count = (): void => {
      turn++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const seen: [string, number][] = [];
    await Promise.all(['a', 'b'].map((loop) => forEachSliced([1, 2, 3], (n) => seen.push([`${loop}${n}`, turn]), 1)));
    counting = false;
    // Both loops take their first slice at once; every later slice has a turn of its own.
    expect(seen.map(([s]) => s)).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
    const later = seen.slice(2).map(([, t]) => t);
    expect(new Set(later).size).toBe(later.length);
  });

  it('coldIdle resolves once no cold work waits for a turn', async () => {
    const order: string[] = [];
    const loop = forEachSliced([1, 2, 3, 4], (n) => order.push(`item ${n}`), 1);
    const idle = coldIdle(60_000).then(() => order.push('idle'));
    await Promise.all([loop, idle]);
    expect(order).toEqual(['item 1', 'item 2', 'item 3', 'item 4', 'idle']);
  });

  it('coldIdle waits no longer than it is told', async () => {
    let done = 0;
    const loop = forEachSliced(
      Array.from({ length: 200 }, (_, i) => i),
      () => done++,
      1,
    );
    await coldIdle(0);
    expect(done).toBeLessThan(200);
    await loop;
    expect(done).toBe(200);
  });
});
