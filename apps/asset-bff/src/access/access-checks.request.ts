import { Problems } from '../common/validation';
/** One permission question. */
export interface Check {
  userId: string;
  assetId: string;
}

import { MAX_CHECKS } from './dto/access-checks.dto';

/** Validates the checks body; every problem is listed with its field. */
export function parseChecks(body: unknown): Check[] {
  const p = new Problems();
  if (!p.object(body, 'body')) p.throwIfAny();
  const b = body as Record<string, unknown>;
  p.known(b, ['checks']);
  const checks = b.checks;
  if (!Array.isArray(checks)) p.add('checks', 'must be an array of {userId, assetId}');
  else if (checks.length < 1 || checks.length > MAX_CHECKS) p.add('checks', `must have 1..${MAX_CHECKS} elements (got ${checks.length})`);
  else {
    for (let i = 0; i < checks.length; i++) {
      const c: unknown = checks[i];
      if (!p.object(c, `checks[${i}]`)) continue;
      p.known(c, ['userId', 'assetId'], `checks[${i}].`);
      p.id(c.userId, `checks[${i}].userId`);
      p.id(c.assetId, `checks[${i}].assetId`);
    }
  }
  p.throwIfAny();
  return checks as Check[];
}
