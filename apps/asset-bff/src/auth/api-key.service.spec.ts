import * as crypto from 'node:crypto';
import fc from 'fast-check';
import { AppConfig } from '../config/app-config';
import { ApiKeyService } from './api-key.service';

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const KEYS = ['first-key-00000000000000000000001', 'middle-key-0000000000000000000002', 'last-key-000000000000000000000003'];

function service(): ApiKeyService {
  const config = {
    API_KEYS: KEYS.map((k, i) => ({ id: `caller-${i}`, sha256: i === 1 ? sha(k).toUpperCase() : sha(k), orgs: ['o1'], scopes: ['assets:read'] })),
  } as unknown as AppConfig;
  return new ApiKeyService(config);
}

describe('ApiKeyService', () => {
  const compare = crypto.timingSafeEqual as jest.MockedFunction<typeof crypto.timingSafeEqual>;
  beforeEach(() => compare.mockClear());

  it('finds the caller of each configured key (hash in either hex case)', () => {
    const s = service();
    KEYS.forEach((k, i) => expect(s.verify(k)?.id).toBe(`caller-${i}`));
  });

  it('compares with crypto.timingSafeEqual over EVERY entry, 32-byte hashes, whichever entry matches (or none)', () => {
    const s = service();
    for (const key of [KEYS[0], KEYS[2], 'no-such-key', KEYS[0].slice(0, -1)]) {
      compare.mockClear();
      s.verify(key);
      expect({ key, calls: compare.mock.calls.length }).toEqual({ key, calls: KEYS.length });
      for (const [a, b] of compare.mock.calls) {
        expect(a.byteLength).toBe(32);
        expect(b.byteLength).toBe(32);
      }
    }
  });

  it('refuses near misses: prefix, suffix, case, the hash itself, empty, over-long', () => {
    const s = service();
    const k = KEYS[0];
    for (const bad of [k.slice(0, -1), `${k}x`, k.slice(1), k.toUpperCase(), sha(k), sha(k).toUpperCase(), '', 'k'.repeat(513), k + k]) {
      expect({ bad: bad.slice(0, 40), caller: s.verify(bad) }).toEqual({ bad: bad.slice(0, 40), caller: undefined });
    }
  });

  it('a key that matched is found again without hashing; a key that did not is walked in full every time', () => {
    const s = service();
    expect(s.verify(KEYS[1])?.id).toBe('caller-1');
    compare.mockClear();
    expect(s.verify(KEYS[1])?.id).toBe('caller-1');
    expect(compare).not.toHaveBeenCalled();
    for (let i = 0; i < 3; i++) {
      compare.mockClear();
      expect(s.verify(`${KEYS[1]}x`)).toBeUndefined();
      expect(compare).toHaveBeenCalledTimes(KEYS.length);
    }
    // near misses of a remembered key are still refused
    for (const bad of [KEYS[1].slice(0, -1), KEYS[1].toUpperCase(), ` ${KEYS[1]}`]) expect(s.verify(bad)).toBeUndefined();
  });

  it('never throws, and accepts nothing but a configured key, for arbitrary strings', () => {
    const s = service();
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.fullUnicodeString(), fc.string({ minLength: 500, maxLength: 600 }), fc.constantFrom(...KEYS.map((k) => `${k} `))),
        (key) => {
          expect(s.verify(key)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});
