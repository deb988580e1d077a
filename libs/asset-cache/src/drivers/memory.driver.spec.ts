import { encodeDetails } from '../entry-codec';
import { MemoryDriver } from './memory.driver';

describe('MemoryDriver', () => {
  let t = 1_000;
  const now = () => t;
  let d: MemoryDriver;

  beforeEach(() => {
    t = 1_000;
    d = new MemoryDriver(3, now);
  });

  it('expires strings at their TTL', async () => {
    await d.write([{ op: 'set', key: 'a', value: '1', ttlMs: 100 }]);
    expect(await d.mget(['a', 'b'])).toEqual(['1', null]);
    t += 100;
    expect(await d.mget(['a'])).toEqual([null]);
  });

  it('evicts the least recently used key beyond its bound', async () => {
    for (const k of ['a', 'b', 'c']) await d.write([{ op: 'set', key: k, value: k, ttlMs: 1_000 }]);
    await d.mget(['a']);
    await d.write([{ op: 'set', key: 'd', value: 'd', ttlMs: 1_000 }]);
    expect(await d.mget(['a', 'b', 'c', 'd'])).toEqual(['a', null, 'c', 'd']);
  });

  it('gets or creates keys (a present key keeps its value; a created one expires) and deletes keys', async () => {
    await d.write([{ op: 'set', key: 'g1', value: 'old', ttlMs: 1_000 }]);
    expect(await d.getOrCreate(['g1', 'g2'], ['new1', 'new2'], 100)).toEqual(['old', 'new2']);
    expect(await d.getOrCreate(['g2'], ['other'], 100)).toEqual(['new2']);
    t += 100;
    expect(await d.mget(['g1', 'g2'])).toEqual(['old', null]);
    await d.write([{ op: 'del', key: 'g1' }]);
    expect(await d.mget(['g1'])).toEqual([null]);
  });

  it('takes a lock once, and only its owner releases it; an expired lock can be taken again', async () => {
    expect(await d.tryLock('l', 'me', 50)).toBe(true);
    expect(await d.tryLock('l', 'you', 50)).toBe(false);
    await d.unlock('l', 'you');
    expect(await d.tryLock('l', 'you', 50)).toBe(false);
    await d.unlock('l', 'me');
    expect(await d.tryLock('l', 'you', 50)).toBe(true);
    t += 50;
    expect(await d.tryLock('l', 'me', 50)).toBe(true);
  });

  it('extends a lock only for its owner, and not once it expired', async () => {
    expect(await d.tryLock('k', 'me', 50)).toBe(true);
    expect(await d.extendLock('k', 'you', 50)).toBe(false);
    t += 40;
    expect(await d.extendLock('k', 'me', 50)).toBe(true);
    t += 40;
    expect(await d.tryLock('k', 'you', 50)).toBe(false);
    t += 10;
    expect(await d.extendLock('k', 'me', 50)).toBe(false);
    expect(await d.tryLock('k', 'you', 50)).toBe(true);
  });

  it('merges details: typed always wins, untyped never replaces typed; the version changes only with a value', async () => {
    const typed = encodeDetails({ names: { default: 'T' }, type: 'inverter' });
    const untyped = encodeDetails({ names: { default: 'U' } });
    const untyped2 = encodeDetails({ names: { default: 'U2' } });
    const merge = (version: string, fields: [string, string][]) => d.write([{ op: 'details', key: 'h', ttlMs: 1_000, version, fields }]);
    await merge('v1', [
      ['a', typed],
      ['b', untyped],
    ]);
    expect(await d.hmget('h', ['@v'])).toEqual(['v1']);
    await merge('v2', [
      ['a', untyped],
      ['b', untyped2],
    ]);
    expect(await d.hmget('h', ['a', 'b', 'c', '@v'])).toEqual([typed, untyped2, null, 'v2']);
    // Nothing changes: the same values, and an untyped value that may not replace a typed one.
    await merge('v3', [
      ['a', untyped],
      ['b', untyped2],
    ]);
    expect(await d.hmget('h', ['a', 'b', '@v'])).toEqual([typed, untyped2, 'v2']);
  });

  it('gives ids stable dictionary indexes under one epoch', async () => {
    expect(await d.assignIndexes('dict', 'E1', ['x', 'y'], 1_000)).toEqual(['E1', '1', '2']);
    expect(await d.assignIndexes('dict', 'E2', ['y', 'z'], 1_000)).toEqual(['E1', '2', '3']);
    expect(await d.hmget('dict', ['x:3', '@e'])).toEqual(['z', 'E1']);
  });

  it('delivers published messages to in-process subscribers and reports no Redis health', async () => {
    const got: string[] = [];
    await d.subscribe('ch', { message: (m) => got.push(m), resync: () => undefined, lost: () => undefined });
    expect(await d.publish('ch', 'hello')).toBe(true);
    expect(got).toEqual(['hello']);
    expect(d.health()).toBe('none');
  });
});
