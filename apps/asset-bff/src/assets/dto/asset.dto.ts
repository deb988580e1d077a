import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

const I18N_EXAMPLE = { default: 'Inverter 01', en_US: 'Inverter 01', zh_CN: '逆变器 01' };

/** An asset with its localized name and the full I18nString. */
export class AssetDto {
  @ApiProperty({ example: '2rVQ6zfF' }) id!: string;
  @ApiProperty({ description: 'Localized by ?lang, then Accept-Language, then default, then any non-empty value', example: 'Inverter 01' }) name!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: I18N_EXAMPLE }) names!: Record<string, string>;
}

/** GET .../users/{userId}/assets and GET /v1/me/assets. */
export class UserAssetsDto {
  @ApiProperty() orgId!: string;
  @ApiProperty() userId!: string;
  @ApiProperty({ description: 'Number of assets the portal reported; with q, the number of matching assets' }) total!: number;
  @ApiProperty({ description: "false when the portal's pages never agreed during the merge: the best merge, kept briefly" }) complete!: boolean;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'With limit or cursor: the cursor of the next page, null on the last' })
  nextCursor?: string | null;
  @ApiProperty({ type: [AssetDto], description: 'Upstream order; at most limit of them when limit is set' }) assets!: AssetDto[];
}

/** An asset of a batch answer, with its resource type. */
export class BatchAssetDto extends AssetDto {
  @ApiProperty({ type: String, nullable: true, example: 'inverter' }) type!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Inverter' }) typeName!: string | null;
  @ApiPropertyOptional({ type: 'object', nullable: true, additionalProperties: { type: 'string' } }) typeNames!: Record<string, string> | null;
}

export class UserAssetIdsDto {
  @ApiProperty() userId!: string;
  @ApiProperty({ type: [String] }) assetIds!: string[];
}

/** POST /v1/orgs/{orgId}/user-assets answer. */
export class BatchUserAssetsDto {
  @ApiProperty() orgId!: string;
  @ApiProperty({ type: [UserAssetIdsDto], description: 'Each requested user once, in request order' }) users!: UserAssetIdsDto[];
  @ApiProperty({ type: [BatchAssetDto], description: 'Each asset once' }) assets!: BatchAssetDto[];
}
