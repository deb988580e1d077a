import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ID_SCHEMA } from '../../common/api-docs';

export const MAX_BATCH_USERS = 50_000;
export const MAX_RESOURCE_TYPES = 1000;

/** POST /v1/orgs/{orgId}/user-assets body. Unknown fields are rejected. */
export class UserAssetsRequestDto {
  @ApiProperty({
    type: 'array',
    items: ID_SCHEMA,
    minItems: 1,
    maxItems: MAX_BATCH_USERS,
    description: 'User ids (duplicates folded)',
    example: ['u0001', 'u0002'],
  })
  userIds!: string[];

  @ApiPropertyOptional({ type: 'array', items: ID_SCHEMA, maxItems: MAX_RESOURCE_TYPES, example: ['inverter'] })
  resourceTypes?: string[];
}
