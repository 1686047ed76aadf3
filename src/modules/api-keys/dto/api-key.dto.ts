import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsDateString,
  IsIn,
  IsOptional,
  IsUUID,
} from 'class-validator';
import { Permission } from '../../../core/auth/permissions.js';
import { IntField, NameField, Optional } from '../../../core/http/dto-fields.js';
import type { ApiKey } from '../../../core/identity/api-key.entity.js';

export class CreateApiKeyDto {
  @NameField({ example: 'CI deploys' })
  name: string;

  @ApiPropertyOptional({ enum: Permission, isArray: true, description: "Defaults to all of the creator's permissions" })
  @Optional()
  @IsArray()
  @ArrayUnique()
  @IsIn(Object.values(Permission), { each: true })
  scopes?: Permission[];

  @ApiPropertyOptional({ format: 'date-time', description: 'When the key stops working' })
  @Optional()
  @IsDateString({ strict: true })
  expiresAt?: string;

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description: 'Limit the key to these knowledge bases (search and reads see no others)',
  })
  @Optional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsUUID('4', { each: true })
  knowledgeBaseIds?: string[];
}

export class ListApiKeysQuery {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: "Tenant admins: every key of the tenant, the tenant's own included",
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  all?: 'true' | 'false';
}

export class RegenerateTenantKeyDto {
  @IntField({
    min: 0,
    max: 7 * 24 * 3600,
    optional: true,
    default: 0,
    description: 'Seconds the old key keeps working',
  })
  graceSeconds?: number;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['personal', 'tenant'] }) kind: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: 'atr_live_AbCdEfGh', description: 'The first characters of the key, to recognise it' })
  prefix: string;
  @ApiProperty({ type: [String] }) scopes: string[];
  @ApiProperty({ type: [String], nullable: true, description: 'The knowledge bases it is limited to (null: any)' })
  knowledgeBaseIds: string[] | null;
  @ApiPropertyOptional({ format: 'uuid', nullable: true, type: String }) userId: string | null;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) expiresAt: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) lastUsedAt: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) revokedAt: string | null;

  /** Never includes the key or its digest. */
  static from(key: ApiKey): ApiKeyDto {
    return {
      id: key.id,
      kind: key.kind,
      name: key.name,
      prefix: key.prefix,
      scopes: key.scopes,
      knowledgeBaseIds: key.knowledgeBaseIds,
      userId: key.userId,
      createdAt: key.createdAt.toISOString(),
      expiresAt: key.expiresAt?.toISOString() ?? null,
      lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
      revokedAt: key.revokedAt?.toISOString() ?? null,
    };
  }
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The full key. It is shown only this once.' })
  key: string;
}
