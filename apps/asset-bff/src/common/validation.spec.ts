import { parseChecks } from '../access/access-checks.request';
import { parseUserAssetsBody } from '../assets/user-assets.request';
import { parseTreeQuery } from '../tree/tree.query';
import { AppException } from './app.exception';

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppException) return (e.extra.fields ?? []).map((f) => f.field);
    throw e;
  }
  throw new Error('expected a validation failure');
}

describe('request validation', () => {
  it('accepts a valid batch body', () => {
    expect(parseUserAssetsBody({ userIds: ['u1', 'u.2:x-y_z'], resourceTypes: ['inverter'] })).toEqual({
      userIds: ['u1', 'u.2:x-y_z'],
      resourceTypes: ['inverter'],
    });
  });

  it('names every offending field of a batch body', () => {
    expect(fieldsOf(() => parseUserAssetsBody({ userIds: ['ok', '', 'a'.repeat(129), 7], extra: 1 }))).toEqual([
      'extra',
      'userIds[1]',
      'userIds[2]',
      'userIds[3]',
    ]);
    expect(fieldsOf(() => parseUserAssetsBody({ userIds: [] }))).toEqual(['userIds']);
    expect(fieldsOf(() => parseUserAssetsBody({ userIds: new Array(50_001).fill('u') }))).toEqual(['userIds']);
    expect(fieldsOf(() => parseUserAssetsBody([1]))).toEqual(['body']);
    expect(fieldsOf(() => parseUserAssetsBody({ userIds: ['u'], resourceTypes: 'inverter' }))).toEqual(['resourceTypes']);
  });

  it('names every offending field of access checks', () => {
    expect(parseChecks({ checks: [{ userId: 'u', assetId: 'a' }] })).toEqual([{ userId: 'u', assetId: 'a' }]);
    expect(fieldsOf(() => parseChecks({ checks: [{ userId: 'u', assetId: '../x', more: true }, 'x'] }))).toEqual([
      'checks[0].more',
      'checks[0].assetId',
      'checks[1]',
    ]);
    expect(fieldsOf(() => parseChecks({ checks: new Array(10_001).fill({ userId: 'u', assetId: 'a' }) }))).toEqual(['checks']);
  });

  it('validates the tree query', () => {
    expect(parseTreeQuery({ types: 'a,b', associated: 'true', view: 'flat' })).toEqual({ types: ['a', 'b'], associated: true, view: 'flat' });
    expect(parseTreeQuery({})).toEqual({ types: undefined, associated: false, view: 'tree' });
    expect(fieldsOf(() => parseTreeQuery({ associated: 'yes', view: 'graph', types: 'a,%00' }))).toEqual(['types[1]', 'associated', 'view']);
    // found by the property-based suite: prototype names are not booleans
    expect(fieldsOf(() => parseTreeQuery({ associated: 'toString' }))).toEqual(['associated']);
    expect(fieldsOf(() => parseTreeQuery({ associated: 'constructor' }))).toEqual(['associated']);
  });
});
