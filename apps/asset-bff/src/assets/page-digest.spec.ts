import fc from 'fast-check';
import { scanAssetListAnswer } from '@app/portal-client/asset-page-scan';
import { digestAssetList, parseAssetList } from './page-digest';

const enc = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const page = (assets: unknown, extra: Record<string, unknown> = {}, code: unknown = 0): string =>
  JSON.stringify({ code, message: 'OK', data: { pagination: { pageNo: 2, pageSize: 1000, totalElements: 12345 }, assets }, ...extra });

/** The digest as plain values (typed arrays as byte strings), for comparing the scanned and the parsed reading. */
function plain(d: { envelope: unknown; transfer: ArrayBuffer[] }): unknown {
  return JSON.parse(
    JSON.stringify(d.envelope, (_k, v: unknown) => (v instanceof Uint8Array || v instanceof Int32Array ? `${v.constructor.name}:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}` : v)),
  );
}

const PREFS = [undefined, ['en_US'], ['zh_CN'], ['zh'], ['ja', 'en'], ['fr_FR', 'de'], ['xx']] as const;

/** Both readings agree, for every language choice; returns whether the page was scanned. */
function agree(text: string | Uint8Array): boolean {
  const bytes = typeof text === 'string' ? enc(text) : text;
  for (const prefs of PREFS) {
    const scanned = digestAssetList(bytes, prefs as string[] | undefined);
    const parsed = parseAssetList(bytes, prefs as string[] | undefined);
    expect(plain(scanned)).toEqual(plain(parsed));
    expect(scanned.transfer.map((b) => b.byteLength)).toEqual(parsed.transfer.map((b) => b.byteLength));
  }
  return scanAssetListAnswer(bytes) !== undefined;
}

const ASSETS = [
  { id: 'ckuV3hG8', name: { default: 'Inverter INV-5001', en_US: 'Inverter INV-5001', zh_CN: '逆变器 INV-5001', ja_JP: 'インバータ INV-5001' } },
  { id: 'a-2', name: { default: '', en_US: 'Meter', zh: '电表 😀', fr: null } },
  { id: 'a-3', name: {} },
  { id: 'a:4', name: null },
  { id: 'a.5' },
  { id: 'a_6', name: { en_GB: 'Colour', en_US: '', default: null } },
  { name: { default: 'x' }, id: 'a7' },
];

describe('asset/list pages scanned from their bytes (scanAssetListAnswer, digestAssetList)', () => {
  it('reads the usual page as the parsed reading does: ids, hashes, names and views in every language choice', () => {
    expect(agree(page(ASSETS))).toBe(true);
    expect(agree(page([]))).toBe(true);
    expect(agree(page(ASSETS, {}, 200))).toBe(true);
    // whitespace between the envelope's and the assets' tokens (not inside a name)
    expect(agree(page(ASSETS).replace(/,"assets":\[\{/, ' ,\n "assets" : [ {').replace(/\}\]\}/, '} ] }'))).toBe(true);
    expect(agree(`  ${page(ASSETS)}\n`)).toBe(true);
  });

  it.each([
    ['an error envelope', JSON.stringify({ code: 31404, message: 'no user', data: null })],
    ['a success code the client does not take', page(ASSETS, {}, 1)],
    ['text that is not JSON', 'Bad Gateway'],
    ['a truncated page', page(ASSETS).slice(0, -9)],
    ['trailing text', `${page(ASSETS)}x`],
    ['a BOM', `\ufeff${page(ASSETS)}`],
    ['whitespace inside a name', page(ASSETS).replace('{"default":"Inverter', '{ "default":"Inverter')],
    ['an escape in a name', page([{ id: 'a', name: { en: 'say "hi"' } }])],
    ['a unicode escape in a name', page(ASSETS).replace('逆', '\\u9006')],
    ['a control character escaped in a name', page([{ id: 'a', name: { en: 'tab\there' } }])],
    ['an escape in a key', page([{ id: 'a', name: { 'e"n': 'x' } }])],
    ['a non-ASCII key', page([{ id: 'a', name: { 中文: 'x' } }])],
    ['an array-index key (JSON.parse moves it first)', page([{ id: 'a', name: { en: 'x', 10: 'y', 2: 'z' } }])],
    ['a __proto__ key', page([{ id: 'a', name: { en: 'x' } }]).replace('"en"', '"__proto__"')],
    ['a key twice', page([{ id: 'a', name: { en: 'x' } }]).replace('{"en":"x"}', '{"en":"x","en":"y"}')],
    ['a number in a name', page([{ id: 'a', name: { en: 5 } }])],
    ['a nested object in a name', page([{ id: 'a', name: { en: { v: 'x' } } }])],
    ['a name that is a string', page([{ id: 'a', name: 'x' }])],
    ['a name that is a list', page([{ id: 'a', name: ['x'] }])],
    ['an asset without id', page([{ name: { en: 'x' } }])],
    ['an empty id', page([{ id: '', name: { en: 'x' } }])],
    ['a numeric id', page([{ id: 7, name: { en: 'x' } }])],
    ['a non-ASCII id', page([{ id: '资产', name: { en: 'x' } }])],
    ['an escaped id', page([{ id: 'a\\b' }])],
    ['an asset with another key', page([{ id: 'a', name: {}, type: 'inverter' }])],
    ['an id twice in an asset', page([{ id: 'a' }]).replace('{"id":"a"}', '{"id":"a","id":"b"}')],
    ['a name twice in an asset', page([{ id: 'a', name: {} }]).replace('"name":{}', '"name":{},"name":{"en":"x"}')],
    ['assets twice', page([{ id: 'a' }]).replace('"assets":', '"assets":[],"assets":')],
    ['data twice', page([{ id: 'a' }]).replace('"data":', '"data":{},"data":')],
    ['assets that are not a list', page({ id: 'a' })],
    ['a negative total', page([{ id: 'a' }]).replace('12345', '-1')],
    ['no pagination', JSON.stringify({ code: 0, data: { assets: [{ id: 'a' }] } })],
    ['a list item that is not an object', page(['a'])],
  ])('leaves %s to the parsed reading, with the same result', (_what, text) => {
    expect(agree(text)).toBe(false);
  });

  it('leaves a page that is not valid UTF-8 to the parsed reading', () => {
    const bytes = enc(page([{ id: 'a', name: { zh: '电表' } }]));
    const at = Buffer.from(bytes).indexOf(Buffer.from('电'));
    bytes[at + 1] = 0x41; // a cut multi-byte sequence: TextDecoder puts U+FFFD in its place
    expect(agree(bytes)).toBe(false);
  });

  it('reads pages past its scratch arrays, then small ones again', () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ id: `id-${i}`, name: { default: `n${i}`, en: `e${i}`, zh_CN: `中${i}`, fr: `f${i}` } }));
    expect(agree(page(many))).toBe(true);
    expect(agree(page(ASSETS))).toBe(true);
  });

  it('agrees with the parsed reading on any page (fast-check), and scans every page of plain ids and canonical names', () => {
    const plainId = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,10}$/);
    const anyId = fc.oneof(plainId, fc.string({ maxLength: 6 }), fc.constantFrom('a"b', '资产', ''));
    const key = fc.oneof(fc.constantFrom('default', 'en', 'en_US', 'zh', 'zh_CN', 'ja_JP', 'fr', '1', '__proto__'), fc.string({ maxLength: 4 }));
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.fullUnicodeString({ maxLength: 6 }), fc.constantFrom('', '逆变器 1', 'a"b', 'tab\t'), fc.constant(null));
    const name = fc.oneof(fc.dictionary(key, value, { maxKeys: 5 }), fc.constant(null), fc.constant(undefined), fc.constant('x'));
    const asset = (id: fc.Arbitrary<string>) => fc.record({ id, name }, { requiredKeys: ['id'] });
    fc.assert(
      fc.property(fc.array(asset(anyId), { maxLength: 6 }), fc.constantFrom(0, 200, 31404), (assets, code) => {
        agree(page(assets, {}, code));
      }),
      { numRuns: 300 },
    );
    const canonicalName = fc.dictionary(fc.constantFrom('default', 'en', 'en_US', 'zh', 'zh_CN', 'ja_JP', 'fr'), fc.oneof(fc.stringMatching(/^[^"\\\u0000-\u001f]{0,8}$/), fc.constant(null)), { maxKeys: 5 });
    fc.assert(
      fc.property(fc.array(fc.record({ id: plainId, name: fc.oneof(canonicalName, fc.constant(null)) }, { requiredKeys: ['id'] }), { maxLength: 6 }), (assets) => {
        expect(agree(page(assets))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
