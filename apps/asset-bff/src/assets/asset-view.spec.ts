import { AssetListItem } from '@app/portal-contracts';
import { ByteSink, pageNamesBytes, pageViewsBytes, view } from './asset-view';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const assets = (n: number, from = 0): AssetListItem[] =>
  Array.from({ length: n }, (_, i) => ({ id: `a${from + i}`, name: i % 3 === 0 ? { default: `Asset ${from + i}`, zh_CN: `资产 ${from + i} 号 😀` } : i % 3 === 1 ? { en: `"quoted" \\ ${i}` } : {} }));

describe('page bytes (ByteSink)', () => {
  it("are one JSON.stringify's bytes: the views without brackets, the names as an array, in every language", () => {
    for (const prefs of [['zh_CN'], ['en'], []]) {
      const page = assets(1_000);
      expect(text(pageViewsBytes(page, prefs))).toBe(JSON.stringify(page.map((a) => view(a.id, { names: a.name }, prefs))).slice(1, -1));
      expect(text(pageNamesBytes(page))).toBe(JSON.stringify(page.map((a) => a.name)));
    }
    expect(text(pageViewsBytes([], ['en']))).toBe('');
    expect(text(pageNamesBytes([]))).toBe('[]');
  });

  it('hands out a buffer of its own each time, grows its scratch for a huge page and does not keep it past 4 MB', () => {
    const a = pageNamesBytes(assets(10));
    const b = pageNamesBytes(assets(10, 100));
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.byteLength).toBe(a.buffer.byteLength);
    expect(text(a)).toBe(JSON.stringify(assets(10).map((x) => x.name)));
    // over 4 MB of views: the scratch doubles past it while writing, and is made anew at its usual size after
    const huge = assets(120_000);
    const hugeBytes = pageViewsBytes(huge, ['zh_CN']);
    expect(hugeBytes.byteLength).toBeGreaterThan(4 << 20);
    expect(text(hugeBytes)).toBe(JSON.stringify(huge.map((x) => view(x.id, { names: x.name }, ['zh_CN']))).slice(1, -1));
    expect(ByteSink.scratchBytes).toBe(1 << 20);
    const sink = new ByteSink();
    sink.put('é');
    sink.put('"x"');
    expect(text(sink.take())).toBe('é"x"');
  });
});
