import { ApiProperty } from '@nestjs/swagger';
import { ID_SCHEMA } from '../../common/api-docs';

export const MAX_CHECKS = 10_000;

export class CheckDto {
  @ApiProperty({ ...ID_SCHEMA, example: 'u0001' }) userId!: string;
  @ApiProperty({ ...ID_SCHEMA, example: '2rVQ6zfF' }) assetId!: string;
}

/** POST /v1/orgs/{orgId}/access-checks body. Unknown fields are rejected. */
export class AccessChecksRequestDto {
  @ApiProperty({ type: [CheckDto], minItems: 1, maxItems: MAX_CHECKS }) checks!: CheckDto[];
}

export class CheckResultDto extends CheckDto {
  @ApiProperty() allowed!: boolean;
}

export class AccessChecksResultDto {
  @ApiProperty({ type: [CheckResultDto], description: 'In request order' }) results!: CheckResultDto[];
}
