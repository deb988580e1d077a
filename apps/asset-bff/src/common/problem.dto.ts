import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ErrorCode } from './error-code';

export class FieldProblemDto {
  @ApiProperty({ example: 'userIds[3]' }) field!: string;
  @ApiProperty({ type: [String] }) problems!: string[];
}

export class UpstreamProblemDto {
  @ApiProperty({ nullable: true, type: Number, example: 31404 }) code!: number | null;
  @ApiProperty() message!: string;
}

/** Every error: application/problem+json. */
export class ProblemDto {
  @ApiProperty() type!: string;
  @ApiProperty() title!: string;
  @ApiProperty() status!: number;
  @ApiProperty({ enum: ErrorCode }) code!: ErrorCode;
  @ApiProperty() detail!: string;
  @ApiProperty() requestId!: string;
  @ApiPropertyOptional({ type: [FieldProblemDto] }) fields?: FieldProblemDto[];
  @ApiPropertyOptional({ type: UpstreamProblemDto }) upstream?: UpstreamProblemDto;
}
