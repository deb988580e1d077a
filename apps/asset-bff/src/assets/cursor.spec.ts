import fc from 'fast-check';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { Signer } from '../common/signer';
import { Cursors, CursorScope, listVersion, offsetIn } from './cursor';

describe('page cursors', () => {
  const cursors = new Cursors(new Signer('test-secret-not-real', 'cursor'));
  const id = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/);
  const scope = fc.record({
    orgId: id,
    userId: id,
    q: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
    prefs: fc.constant(['zh_CN']),
  });
  const version = fc.integer({ min: 0, max: 2 ** 50 });
  const offset = fc.integer({ min: 0, max: 10_000_000 });
  const codeOf = (f: () => unknown): string | undefined => {
    try {
      f();
      return undefined;
    } catch (e) {
      return e instanceof AppException ? `${e.code}:${e.extra.fields?.[0]?.field ?? ''}` : 'other';
    }
  };

  it('opens what it cut, in its scope and version', () => {
    fc.assert(fc.property(scope, version, offset, (s, v, o) => expect(offsetIn(cursors.open(cursors.cut(s, v, o), s), v)).toBe(o)));
  });

  it('refuses a cursor in another scope (400 naming cursor) and tells a newer version apart (409 CURSOR_STALE)', () => {
    fc.assert(
      fc.property(scope, scope, version, offset, (a, b, v, o) => {
        const c = cursors.cut(a, v, o);
        const same =
          a.orgId === b.orgId &&
          a.userId === b.userId &&
          (a.q ?? '').toLowerCase() === (b.q ?? '').toLowerCase() &&
          (a.q === undefined) === (b.q === undefined);
        if (!same) expect(codeOf(() => cursors.open(c, b))).toBe(`${ErrorCode.ValidationFailed}:cursor`);
        expect(codeOf(() => offsetIn(cursors.open(c, a), v + 1))).toBe(`${ErrorCode.CursorStale}:`);
      }),
    );
  });

  it('versions a list by its ids in order: equal lists alike, any other list apart, within a cursor number', async () => {
    const list = fc.array(id, { maxLength: 30 });
    await fc.assert(
      fc.asyncProperty(list, list, async (a, b) => {
        const [va, vb, again] = [await listVersion(a), await listVersion(b), await listVersion([...a])];
        expect(again).toBe(va);
        expect(Number.isSafeInteger(va) && va.toString(36).length <= 12).toBe(true);
        // Joined ids may read alike ('ab','c' and 'a','bc'); their versions must not.
        if (a.length !== b.length || a.some((x, i) => x !== b[i])) expect(vb).not.toBe(va);
      }),
    );
    expect(await listVersion(['ab', 'c'])).not.toBe(await listVersion(['a', 'bc']));
    // A list longer than a slice is hashed across turns to the same kind of number.
    const long = Array.from({ length: 2_500 }, (_, i) => `a${i}`);
    expect(await listVersion(long)).toBe(await listVersion([...long]));
    expect(await listVersion(long)).not.toBe(await listVersion(long.slice(0, -1)));
  });

  it('refuses any change to a cursor, and a cursor of another deployment', () => {
    const s: CursorScope = { orgId: 'o1', userId: 'u1', prefs: [] };
    const c = cursors.cut(s, 12345, 100);
    fc.assert(
      fc.property(fc.nat({ max: c.length - 1 }), fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.'), (i, ch) => {
        fc.pre(c[i] !== ch);
        const changed = c.slice(0, i) + ch + c.slice(i + 1);
        expect(codeOf(() => cursors.open(changed, s))).toBe(`${ErrorCode.ValidationFailed}:cursor`);
      }),
    );
    const other = new Cursors(new Signer('another-secret', 'cursor'));
    expect(codeOf(() => other.open(c, s))).toBe(`${ErrorCode.ValidationFailed}:cursor`);
  });
});
