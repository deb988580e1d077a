import { Problems } from '../common/validation';
import { MAX_RESOURCE_TYPES } from '../assets/dto/user-assets-request.dto';

/** Accepted spellings of a boolean (a Map: a plain object would also answer `toString`, `constructor`...). */
const BOOL = new Map<string, boolean>([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
]);
export const MAX_TYPES_QUERY = 140_000;

/** Query of the tree route. */
export interface TreeQuery {
  types?: string[];
  associated: boolean;
  view: 'tree' | 'flat';
}

/** Validates `types`, `associated` and `view`. */
export function parseTreeQuery(q: Record<string, unknown>): TreeQuery {
  const p = new Problems();
  let types: string[] | undefined;
  if (q.types !== undefined) {
    if (typeof q.types !== 'string' || q.types.length > MAX_TYPES_QUERY) p.add('types', 'must be one comma list of resource types');
    else
      types = p.idArray(
        q.types.split(',').filter((t) => t.length > 0),
        'types',
        0,
        MAX_RESOURCE_TYPES,
      );
  }
  let associated = false;
  if (q.associated !== undefined) {
    const b = typeof q.associated === 'string' ? BOOL.get(q.associated) : undefined;
    if (b === undefined) p.add('associated', 'must be true or false');
    else associated = b;
  }
  let view: TreeQuery['view'] = 'tree';
  if (q.view !== undefined) {
    if (q.view === 'tree' || q.view === 'flat') view = q.view;
    else p.add('view', 'must be tree or flat');
  }
  p.throwIfAny();
  return { types: types?.length ? types : undefined, associated, view };
}
