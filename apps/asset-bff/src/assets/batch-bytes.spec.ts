import { batchBytes, BatchResult } from './batch-assets.service';

describe('batchBytes', () => {
  it('gives the bytes of one JSON.stringify of the answer, whatever its strings hold', () => {
    const names = { default: 'Site "1"', zh_CN: '场站 \u2028 1', ja_JP: 'サイト \ud83d\ude00', odd: 'lone \ud800 surrogate \\ </script>' };
    const answers: BatchResult[] = [
      { orgId: 'o1', users: [], assets: [] },
      { orgId: 'o1', users: [{ userId: 'u1', assetIds: [] }], assets: [] },
      {
        orgId: 'org.with:chars-_',
        users: [
          { userId: 'u1', assetIds: ['a1', 'a2'] },
          { userId: 'u2', assetIds: ['a\u00e9', 'a1'] },
        ],
        assets: [
          { id: 'a1', name: names.zh_CN, names, type: 'site', typeName: '场站', typeNames: { default: 'Site', zh_CN: '场站' } },
          { id: 'a2', name: 'a2', names: { default: 'a2' }, type: null, typeName: null, typeNames: null },
          { id: 'a\u00e9', name: names.odd, names, type: '', typeName: null, typeNames: null },
        ],
      },
    ];
    for (const a of answers) expect(batchBytes(a).equals(Buffer.from(JSON.stringify(a)))).toBe(true);
  });
});
