import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ description: 'Dotted path of the offending field', example: 'nested.flag' })
  field: string;

  @ApiProperty({ type: [String], example: ['flag must be a boolean value'] })
  messages: string[];
}

/** RFC 9457 problem details, as every error response is written. */
export class ProblemDetailsDto {
  @ApiProperty({ example: 'urn:atrium:problem:validation-failed' })
  type: string;

  @ApiProperty({ example: 'Validation failed' })
  title: string;

  @ApiProperty({ example: 400 })
  status: number;

  @ApiProperty({ example: 'Validation failed for name.' })
  detail: string;

  @ApiProperty({ description: 'Stable machine-readable error code', example: 'VALIDATION_FAILED' })
  code: string;

  @ApiProperty({ example: '5aa7b06a-fd68-42c4-bd13-418ebe32401a' })
  requestId: string;

  @ApiProperty({ example: '/api/v1/users' })
  instance: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Per-field errors (validation failures only)' })
  errors?: FieldErrorDto[];
}
