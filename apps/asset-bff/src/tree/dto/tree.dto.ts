import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class TagDto {
  @ApiProperty() key!: string;
  @ApiProperty() value!: string;
}

/** A node of the normalized tree (structure node or asset). */
export class TreeNodeDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['node', 'asset'] }) kind!: 'node' | 'asset';
  @ApiProperty() name!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) names!: Record<string, string>;
  @ApiProperty({ nullable: true, type: String }) parentId!: string | null;
  @ApiProperty() order!: number;
  @ApiProperty({ type: [TagDto] }) tags!: TagDto[];
  @ApiPropertyOptional() type?: string;
  @ApiPropertyOptional() typeName?: string;
  @ApiProperty({ type: () => [TreeNodeDto], description: 'Sorted by order, then name' }) children!: TreeNodeDto[];
  @ApiPropertyOptional({ type: () => [TreeNodeDto] }) associatedResources?: TreeNodeDto[];
}

export class TreeViewDto {
  @ApiProperty() accessKey!: string;
  @ApiProperty({ type: TreeNodeDto }) root!: TreeNodeDto;
}

export class FlatNodeDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['node', 'asset'] }) kind!: 'node' | 'asset';
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) parentId!: string | null;
  @ApiProperty() depth!: number;
  @ApiProperty({ type: [String], description: 'Ancestor ids, root first, without the node itself' }) path!: string[];
}

export class FlatViewDto {
  @ApiProperty() accessKey!: string;
  @ApiProperty({ type: [FlatNodeDto], description: 'Depth-first order' }) nodes!: FlatNodeDto[];
}
