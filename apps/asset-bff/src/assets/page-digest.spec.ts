import fc from 'fast-check';
import { answerText, digestUsersAssetList } from './page-digest';

const decoder = new TextDecoder();
const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

describe('answerText', () => {
  it('reads ASCII answers byte for byte as TextDecoder does', () => {
    for (const s of ['', '{"code":0,"msg":"OK","data":{}}', '\u0000\u0001\t\n\u007f', 'a'.repeat(100_000), JSON.stringify({ id: 'x\\"y' })]) {
      expect(answerText(utf8(s))).toBe(s);
      expect(answerText(utf8(s))).toBe(decoder.decode(utf8(s)));
    }
  });

  it('leaves every other answer to TextDecoder: non-ASCII names, a BOM, bytes that are not UTF-8', () => {
    const cases: Uint8Array[] = [
      utf8('{"name":{"zh_CN":"风机 1","en_US":"Turbine 1"}}'),
      utf8('\u0080'),
      utf8('emoji \u{1F600} and é'),
      new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), // BOM + {}: TextDecoder drops the BOM
      new Uint8Array([0x7b, 0xff, 0x7d]), // not UTF-8: U+FFFD
      new Uint8Array([0x22, 0xe9, 0xa3]), // a sequence cut short
    ];
    for (const bytes of cases) expect(answerText(bytes)).toBe(decoder.decode(bytes));
    expect(answerText(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe('{}');
    expect(answerText(new Uint8Array([0x7b, 0xff, 0x7d]))).toBe('{\ufffd}');
  });

  it('reads only the view it is given (a slice of a larger buffer)', () => {
    const whole = Buffer.from('xx{"a":1}yy', 'utf8');
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 2, 7);
    expect(answerText(view)).toBe('{"a":1}');
    const wide = Buffer.from('é{"a":"ü"}é', 'utf8');
    expect(answerText(new Uint8Array(wide.buffer, wide.byteOffset + 2, wide.length - 4))).toBe('{"a":"ü"}');
  });

  it('equals TextDecoder for any bytes and any text', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => answerText(bytes) === decoder.decode(bytes)), { numRuns: 2_000 });
    fc.assert(fc.property(fc.fullUnicodeString({ maxLength: 200 }), (s) => answerText(utf8(s)) === decoder.decode(utf8(s))), { numRuns: 2_000 });
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => answerText(utf8(s)) === s), { numRuns: 2_000 });
  });

  it('is what a users/assetList answer is digested from (ASCII and not)', () => {
    for (const name of ['Turbine 1', '风机 1']) {
      const body = { code: 0, msg: 'OK', data: { usersUserAssets: [{ userId: 'u1', userAssetIds: ['a1', 'a2', 'a1'] }], userAssets: [{ id: 'a1', name: { default: name }, type: 't', typeName: {} }] } };
      const d = digestUsersAssetList(utf8(JSON.stringify(body))).envelope as { code: number; data: { digest: string; userIds: string[]; ids: string[]; userAssets: { name: { default: string } }[] } };
      expect(d.code).toBe(0);
      expect(d.data.digest).toBe('users');
      expect(d.data.userIds).toEqual(['u1']);
      expect(d.data.ids).toEqual(['a1', 'a2']);
      expect(d.data.userAssets[0].name.default).toBe(name);
    }
  });
});
