import { AppException } from './app.exception';
import { parseJsonBody, poisonedKeyPath } from './json-body';

function refusal(text: string): { field: string; problems: string[] } {
  try {
    parseJsonBody(text);
  } catch (e) {
    if (e instanceof AppException && e.extra.fields?.length === 1) return e.extra.fields[0];
    throw e;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('JSON body parser', () => {
  it('parses JSON, including ids that are prototype names as plain strings', () => {
    expect(parseJsonBody('{"userIds":["u1","__proto__","constructor","prototype"]}')).toEqual({ userIds: ['u1', '__proto__', 'constructor', 'prototype'] });
    expect(parseJsonBody('{"checks":[{"userId":"constructor","assetId":"__proto__"}]}')).toEqual({ checks: [{ userId: 'constructor', assetId: '__proto__' }] });
    // `constructor` as a key is poisonous only when it holds a `prototype` key.
    expect(parseJsonBody('{"constructor":{"x":1}}')).toEqual({ constructor: { x: 1 } });
  });

  it('an empty body or one that is not JSON: a 400 naming the body', () => {
    expect(refusal('')).toEqual({ field: 'body', problems: ['must not be empty'] });
    expect(refusal('{"userIds":[')).toEqual({ field: 'body', problems: ['is not valid JSON'] });
    expect(refusal('{"__proto__":')).toEqual({ field: 'body', problems: ['is not valid JSON'] });
  });

  it('a __proto__ or constructor.prototype key: a 400 naming where it is (found by the property-based suite)', () => {
    expect(refusal('{"userIds":["u1"],"__proto__":{"isAdmin":true}}')).toEqual({ field: '__proto__', problems: ['a __proto__ key is not accepted'] });
    // Duplicate keys: the last one counts, as for every other field.
    expect(refusal('{"checks":[{"userId":"a","assetId":"a"}],"checks":{"__proto__":{}}}').field).toBe('checks.__proto__');
    expect(refusal('{"checks":[{"userId":"a","assetId":"a"},{"userId":"b","__proto__":null}]}').field).toBe('checks[1].__proto__');
    expect(refusal('{"a":{"constructor":{"prototype":{"x":1}}}}')).toEqual({
      field: 'a.constructor.prototype',
      problems: ['a constructor.prototype key is not accepted'],
    });
    // Escaped spellings are the same key once parsed.
    expect(refusal('{"\\u005f_proto__":1}').field).toBe('__proto__');
    expect(refusal('{"x":[[{"__pr\\u006fto__":1}]]}').field).toBe('x[0][0].__proto__');
    // A body that is an array: its elements are named as the body's.
    expect(refusal('[1,{"__proto__":{}}]').field).toBe('body[1].__proto__');
  });

  it('finds nothing in bodies without such keys', () => {
    expect(poisonedKeyPath({ userIds: new Array(1000).fill('__proto__') })).toBeUndefined();
    expect(poisonedKeyPath([1, 'a', null, { b: [{}] }])).toBeUndefined();
    expect(poisonedKeyPath('__proto__')).toBeUndefined();
  });

  it('walks 100,000 levels of nesting without overflowing the stack', () => {
    const deep = `${'['.repeat(100_000)}{"__proto__":1}${']'.repeat(100_000)}`;
    expect(poisonedKeyPath(JSON.parse(deep)) === `body${'[0]'.repeat(100_000)}.__proto__`).toBe(true);
    // In the answer the name is cut to its first 200 characters.
    expect(refusal(deep).field).toBe(`${`body${'[0]'.repeat(100)}`.slice(0, 200)}…`);
    expect(parseJsonBody(`{"a":${'['.repeat(100_000)}"\\u0041"${']'.repeat(100_000)}}`)).toBeDefined();
  });
});
