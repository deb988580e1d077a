import { FastifyInstance } from 'fastify';
import { AppException } from './app.exception';

/**
 * The service's JSON body parser, in place of fastify's default one. Same media type, same body limit
 * (fastify enforces it while reading), same refusal of prototype-poisoning keys, but the 400 names where
 * the key is (`checks[2].__proto__`) and says what is wrong with it. Fastify 5's own parser answers every
 * poisoned body with "is not valid JSON", which is false and names no field.
 */

/** Where a prototype-poisoning key is: `__proto__` anywhere, or `constructor` holding a `prototype` key. */
export function poisonedKeyPath(value: unknown, path = ''): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const e: unknown = value[i];
      if (typeof e === 'object' && e !== null) {
        const found = poisonedKeyPath(e, `${path}[${i}]`);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    const at = path === '' ? k : `${path}.${k}`;
    if (k === '__proto__') return at;
    const v = obj[k];
    if (k === 'constructor' && typeof v === 'object' && v !== null && Object.prototype.hasOwnProperty.call(v, 'prototype')) return `${at}.prototype`;
    const found = poisonedKeyPath(v, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Parses one JSON body; a 400 naming `body` when it is empty or not JSON, the key's path when it is poisoned. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw AppException.validation([{ field: 'body', problems: ['must not be empty'] }]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw AppException.validation([{ field: 'body', problems: ['is not valid JSON'] }]);
  }
  // A poisoning key is spelled with "proto" (also `constructor.prototype`) or with \u escapes: the walk
  // runs only then, so the 50,000-id bodies of the batch route pay one substring search.
  if (text.includes('proto') || text.includes('\\u')) {
    const at = poisonedKeyPath(value);
    if (at !== undefined) {
      const problem = at.endsWith('.prototype') ? 'a constructor.prototype key is not accepted' : 'a __proto__ key is not accepted';
      throw AppException.validation([{ field: at, problems: [problem] }]);
    }
  }
  return value;
}

/** Replaces fastify's application/json parser with {@link parseJsonBody}. */
export function installJsonBodyParser(fastify: FastifyInstance): void {
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
