import { langPrefs, localize, normalizeTag } from './i18n';

describe('localize', () => {
  const names = { default: 'Default', en_US: 'English', zh_CN: '中文', ja_JP: '' };

  it('takes the exact key first', () => {
    expect(localize(names, ['zh_CN'])).toBe('中文');
  });

  it('falls back from a language alone to its first regional key', () => {
    expect(localize(names, ['zh'])).toBe('中文');
    expect(localize(names, ['en_GB'])).toBe('English');
  });

  it('skips empty values and falls back to default', () => {
    expect(localize(names, ['ja_JP'])).toBe('Default');
  });

  it('uses any non-empty value when default is missing or empty', () => {
    expect(localize({ default: '', zh_CN: '仅中文' }, ['en_US'])).toBe('仅中文');
    expect(localize({}, ['en_US'])).toBe('');
    expect(localize(null, [])).toBe('');
  });

  it('walks preferences in order', () => {
    expect(localize(names, ['fr_FR', 'ja', 'en'])).toBe('English');
  });
});

describe('langPrefs', () => {
  it('prefers ?lang over Accept-Language', () => {
    expect(langPrefs('zh-cn', 'en-US')).toEqual(['zh_CN']);
  });

  it('orders Accept-Language by q and ignores malformed parts', () => {
    expect(langPrefs(undefined, 'en;q=0.5, zh-CN;q=0.9, @@@, ja')).toEqual(['ja', 'zh_CN', 'en']);
  });

  it('reads q-values by the rules of Accept and Accept-Encoding: a malformed one drops its element, the first of a name counts', () => {
    expect(langPrefs(undefined, 'fr;q=abc, en;q=0.5;x=y, zh-Hant;q=0.8, de;q=1.5, EN;q=1')).toEqual(['zh_Hant', 'en']);
    expect(langPrefs('zh-hant', undefined)).toEqual(['zh_Hant']);
  });

  it('drops q=0 and oversized headers', () => {
    expect(langPrefs(undefined, 'en;q=0')).toEqual([]);
    expect(langPrefs(undefined, 'en,'.repeat(300))).toEqual([]);
  });

  it('normalizes tags to portal keys', () => {
    expect(normalizeTag('EN-us')).toBe('en_US');
    expect(normalizeTag('x')).toBeUndefined();
  });
});
