import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyRequest } from 'fastify';
import { AppException } from './app.exception';
import { etagOf, etagOfSliced, IfNoneMatch, parseIfNoneMatch, slicesOf } from './read-answer';

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

describe('If-None-Match', () => {
  const parse = (value: string): IfNoneMatch => parseIfNoneMatch({ headers: { 'if-none-match': value } } as unknown as FastifyRequest);
  // etagc: %x21 / %x23-7E / obs-text (RFC 9110 section 8.8.3); commas included.
  const etagc = fc.mapToConstant(
    { num: 1, build: () => '!' },
    { num: 0x7e - 0x23 + 1, build: (i) => String.fromCharCode(0x23 + i) },
    { num: 0x80, build: (i) => String.fromCharCode(0x80 + i) },
  );
  const tag = fc.record({ weak: fc.boolean(), opaque: fc.string({ unit: etagc, maxLength: 20 }) });
  const ows = fc.constantFrom('', ' ', '\t', '  ');

  it('reads every list of entity tags as RFC 9110 writes it, commas inside tags included', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(ows, tag, ows), { minLength: 1, maxLength: 6 }), (elements) => {
        const header = elements.map(([before, t, after]) => `${before}${t.weak ? 'W/' : ''}"${t.opaque}"${after}`).join(',');
        expect(parse(header)).toEqual(elements.map(([, t]) => t.opaque));
      }),
    );
  });

  it('takes * and empty list elements, and refuses what is not a list of tags', () => {
    expect(parse('*')).toBe('*');
    expect(parse(' * ')).toBe('*');
    expect(parse('W/"a,b", "c"')).toEqual(['a,b', 'c']);
    expect(parse(',"a",,')).toEqual(['a']);
    for (const bad of ['', ' ', ',', 'a', '"a" "b"', '"a', 'W/a', 'w/"a"', '"a"b', '"a""b"', '*, "a"', '"a\u0001"', '"a"x,"b"']) {
      expect(() => parse(bad)).toThrow(AppException);
    }
  });
});
