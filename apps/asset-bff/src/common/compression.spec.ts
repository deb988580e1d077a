import fc from 'fast-check';
import { negotiate } from './compression';

describe('Accept-Encoding negotiation', () => {
  const codings = ['br', 'gzip', 'deflate', 'identity', 'zstd', '*', 'BR', 'Gzip'];
  const element = fc.record({
    name: fc.constantFrom(...codings),
    q: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
    space: fc.constantFrom('', ' ', '  '),
  });

  it('picks the highest q-value of br and gzip (* for those not named, br on a tie), never a refused one', () => {
    fc.assert(
      fc.property(fc.uniqueArray(element, { selector: (e) => e.name.toLowerCase(), maxLength: 8 }), (elements) => {
        const header = elements.map((e) => `${e.space}${e.name}${e.q === undefined ? '' : `;q=${(e.q / 1000).toFixed(3)}`}`).join(',');
        const qOf = (name: string): number | undefined => {
          const e = elements.find((x) => x.name.toLowerCase() === name);
          return e === undefined ? undefined : e.q === undefined ? 1 : e.q / 1000;
        };
        const star = qOf('*') ?? 0;
        const br = qOf('br') ?? star;
        const gz = qOf('gzip') ?? star;
        const expected = br <= 0 && gz <= 0 ? undefined : br >= gz ? 'br' : 'gzip';
        expect(negotiate(header || undefined)).toBe(expected);
      }),
    );
  });

  it('never throws and answers br, gzip or nothing for any header', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (h) => expect([undefined, 'br', 'gzip']).toContain(negotiate(h))));
  });

  it('ignores elements with a malformed q-value and headers without a usable coding', () => {
    expect(negotiate(undefined)).toBeUndefined();
    expect(negotiate('')).toBeUndefined();
    expect(negotiate('br;q=2, gzip')).toBe('gzip');
    expect(negotiate('br;q=abc')).toBeUndefined();
    expect(negotiate('gzip;q=0')).toBeUndefined();
    expect(negotiate('br;q=0, *')).toBe('gzip');
    expect(negotiate('x-gzip')).toBe('gzip');
    expect(negotiate(`${'a,'.repeat(600)}br`)).toBeUndefined();
  });
});
