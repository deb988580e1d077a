import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { AppException } from './app.exception';
import { ConsistencyTokens } from './consistency';

describe('consistency tokens', () => {
  const tokens = new ConsistencyTokens({ PORTAL_APP_SECRET: 'test-secret' } as AppConfig);
  const other = new ConsistencyTokens({ PORTAL_APP_SECRET: 'another-secret' } as AppConfig);
  const request = (token: string): FastifyRequest => ({ headers: { 'x-consistency-token': token } }) as unknown as FastifyRequest;
  const now = Date.UTC(2026, 11, 7, 12);

  it('gives back the time a token of this service names', () => {
    expect(tokens.notBefore(request(tokens.issue(now - 5_000)), now)).toBe(now - 5_000);
    expect(tokens.notBefore({ headers: {} } as FastifyRequest, now)).toBeUndefined();
  });

  it('takes a token up to a minute ahead of its clock (another instance), refuses one further ahead although signed', () => {
    expect(tokens.notBefore(request(tokens.issue(now + 60_000)), now)).toBe(now + 60_000);
    expect(() => tokens.notBefore(request(tokens.issue(now + 60_001)), now)).toThrow(AppException);
  });

  it('refuses a token signed with another secret', () => {
    expect(() => tokens.notBefore(request(other.issue(now)), now)).toThrow(AppException);
  });
});
