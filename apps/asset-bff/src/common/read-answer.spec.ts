import { randomBytes } from 'node:crypto';
import { etagOf, etagOfSliced, slicesOf } from './read-answer';

describe('entity tags', () => {
  it('etagOfSliced gives the tag of etagOf, whatever the body length around its slices', async () => {
    const mb = 1024 * 1024;
    for (const length of [0, 1, mb - 1, mb, mb + 1, 3 * mb + 17]) {
      const body = randomBytes(length);
      expect([length, await etagOfSliced(body)]).toEqual([length, etagOf(body)]);
    }
  });

  it('is a weak tag that changes with the bytes', () => {
    expect(etagOf(Buffer.from('{"a":1}'))).toMatch(/^W\/"[A-Za-z0-9_-]{32}"$/);
    expect(etagOf(Buffer.from('{"a":1}'))).not.toBe(etagOf(Buffer.from('{"a":2}')));
  });
});

describe('big bodies', () => {
  it('are written in slices that join to the body, other work running between two slices', async () => {
    const mb = 1024 * 1024;
    for (const length of [1, mb, mb + 1, 3 * mb + 17]) {
      const body = randomBytes(length);
      const slices: Buffer[] = [];
      const turns: number[] = [];
      let turn = 0;
      let ticking = true;
      const tick = (): void => {
        turn++;
        if (ticking) setImmediate(tick);
      };
      tick();
      for await (const slice of slicesOf(body)) {
        slices.push(slice);
        turns.push(turn);
      }
      ticking = false;
      expect({ length, joined: Buffer.concat(slices).equals(body), slices: slices.length, turns: new Set(turns).size }).toEqual({
        length,
        joined: true,
        slices: Math.ceil(length / mb),
        turns: Math.ceil(length / mb),
      });
    }
  });
});
