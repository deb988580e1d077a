import { Problems } from '../common/validation';
import { MAX_BATCH_USERS, MAX_RESOURCE_TYPES, UserAssetsRequestDto } from './dto/user-assets-request.dto';

/** Validates the batch body; every problem is listed with its field. */
export function parseUserAssetsBody(body: unknown): UserAssetsRequestDto {
  const p = new Problems();
  if (!p.object(body, 'body')) p.throwIfAny();
  const b = body as Record<string, unknown>;
  p.known(b, ['userIds', 'resourceTypes']);
  const userIds = p.idArray(b.userIds, 'userIds', 1, MAX_BATCH_USERS);
  const resourceTypes = b.resourceTypes === undefined ? undefined : p.idArray(b.resourceTypes, 'resourceTypes', 0, MAX_RESOURCE_TYPES);
  p.throwIfAny();
  return { userIds: userIds as string[], resourceTypes };
}
