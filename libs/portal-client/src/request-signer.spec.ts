import { requestSignature, sha256Hex } from '@app/portal-contracts';
import { buildQueryString, signRequest } from './request-signer';

describe('signRequest', () => {
  const base = { accessToken: 'tok', appSecret: 'sec', timestamp: 1700000000000 };

  it('signs the sorted query as name+value, then the body text exactly as sent', () => {
    const s = signRequest({ ...base, path: '/p', query: { resourceTypes: 'a,b', accessKey: 'k1' } });
    expect(s.url).toBe('/p?accessKey=k1&resourceTypes=a%2Cb');
    expect(s.headers['apim-signature']).toBe(sha256Hex('tok' + 'accessKeyk1resourceTypesa,b' + '1700000000000' + 'sec'));
    expect(s.headers['apim-accesstoken']).toBe('tok');
    expect(s.headers['apim-timestamp']).toBe('1700000000000');
    expect(s.headers['content-type']).toBeUndefined();
  });

  it('signs a JSON body with no query and marks it application/json', () => {
    const bodyText = JSON.stringify({ userId: 'u1', orgId: 'o1', pagination: { pageNo: 0, pageSize: 1000 } });
    const s = signRequest({ ...base, path: '/p', bodyText });
    expect(s.url).toBe('/p');
    expect(s.bodyText).toBe(bodyText);
    expect(s.headers['apim-signature']).toBe(requestSignature('tok', bodyText, base.timestamp, 'sec'));
    expect(s.headers['content-type']).toBe('application/json');
  });

  it('leaves undefined query values out of both the URL and the signature', () => {
    const s = signRequest({ ...base, path: '/p', query: { accessKey: 'k', resourceTypes: undefined } });
    expect(s.url).toBe('/p?accessKey=k');
    expect(s.headers['apim-signature']).toBe(sha256Hex('tokaccessKeyk1700000000000sec'));
  });

  it('orders names by ASCII (upper case before lower case)', () => {
    expect(buildQueryString({ b: '2', a: '1', Z: '0' })).toBe('Z=0&a=1&b=2');
  });

  it('changes the signature with the timestamp (re-signed per attempt)', () => {
    const a = signRequest({ ...base, path: '/p', bodyText: '{}' });
    const b = signRequest({ ...base, timestamp: base.timestamp + 1, path: '/p', bodyText: '{}' });
    expect(a.headers['apim-signature']).not.toBe(b.headers['apim-signature']);
  });
});
