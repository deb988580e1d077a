import { readAnswer } from './answer';

const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('readAnswer', () => {
  it('parses the JSON, and gives the text itself when it is not JSON', () => {
    expect(readAnswer(undefined, bytes({ code: 0, data: { id: 'root' } }))).toEqual({ code: 0, data: { id: 'root' } });
    expect(readAnswer('assetList', bytes('<html>bad gateway</html>'))).toBe('<html>bad gateway</html>');
    expect(readAnswer('assetList', Buffer.alloc(0))).toBe('');
    expect(readAnswer(undefined, { status: 0 })).toEqual({ status: 0 });
  });

  it("checks a success envelope's data (codes 0 and 200) for its kind, and leaves error envelopes as they are", () => {
    const page = { pagination: { totalElements: 1 }, assets: [{ id: 'a', name: { default: 'A' }, extra: 1 }] };
    expect(readAnswer('assetList', bytes({ code: 0, msg: 'OK', data: page }))).toEqual({
      code: 0,
      msg: 'OK',
      data: { totalElements: 1, assets: [{ id: 'a', name: { default: 'A' } }] },
    });
    expect(readAnswer('assetList', bytes({ code: 200, data: { pagination: {}, assets: [] } }))).toEqual({ code: 200, data: 'bad totalElements' });
    expect(readAnswer('usersAssetList', bytes({ code: 0, data: { usersUserAssets: [{ userId: 'u' }] } }))).toEqual({
      code: 0,
      data: { usersUserAssets: [{ userId: 'u', userAssetIds: [] }], userAssets: [] },
    });
    expect(readAnswer('usersAssetList', bytes({ code: 0 }))).toEqual({ code: 0, data: 'data is not an object' });
    expect(readAnswer('usersAssetList', bytes({ code: 31404, message: 'OU not found', data: 'x' }))).toEqual({
      code: 31404,
      message: 'OU not found',
      data: 'x',
    });
  });
});
