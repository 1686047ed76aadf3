import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { IsIn, IsObject, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { EmailField, NameField, Nested, NewPasswordField, Optional, Trim } from '../../../core/http/dto-fields.js';
import { PageQuery } from '../../../core/http/pagination.js';
import { TenantDto } from '../../../core/identity/tenant.dto.js';
import { TenantStatus } from '../../../core/identity/tenant.entity.js';

export { TenantDto };

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export class TenantPageDto {
  @ApiProperty({ type: [TenantDto] }) items: TenantDto[];
  @ApiProperty() total: number;
  @ApiProperty() limit: number;
  @ApiProperty() offset: number;
}

export class FirstAdminDto {
  @EmailField()
  email: string;

  @NameField()
  name: string;

  @NewPasswordField({ optional: true, description: 'Omit to e-mail the first admin an invitation' })
  password?: string;
}

export class CreateTenantDto {
  @NameField({ example: 'Acme Stories' })
  name: string;

  @ApiPropertyOptional({
    example: 'acme',
    description: 'Lower-case letters, digits and dashes; derived from the name when omitted',
  })
  @Optional()
  @Matches(SLUG, { message: 'slug must be lower-case letters, digits and inner dashes (at most 63)' })
  slug?: string;

  @ApiProperty({ type: FirstAdminDto })
  @Nested(() => FirstAdminDto)
  admin: FirstAdminDto;
}

export class UpdateTenantDto {
  @NameField({ optional: true, example: 'Acme Stories' })
  name?: string;

  @ApiPropertyOptional({ description: 'Super admins only' })
  @Optional()
  @Matches(SLUG, { message: 'slug must be lower-case letters, digits and inner dashes (at most 63)' })
  slug?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @Optional()
  @IsObject()
  settings?: Record<string, unknown>;
}

export class SuspendTenantDto {
  @ApiProperty({ example: 'Payment overdue' })
  @Trim()
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason: string;
}

export class ListTenantsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: TenantStatus })
  @IsOptional()
  @IsIn(Object.values(TenantStatus))
  status?: TenantStatus;

  @ApiPropertyOptional({ description: 'Matches name or slug' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;
}

export class DeleteTenantQuery {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: 'Purge the tenant and all its rows instead of the default soft delete',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  hard?: 'true' | 'false';
}

export class CreatedTenantDto {
  @ApiProperty({ type: TenantDto }) tenant: TenantDto;
  @ApiProperty({ description: 'The first tenant admin' }) adminId: string;
  @ApiProperty({ description: "The tenant's API key, for its apps. It is shown only this once." }) apiKey: string;
}

export class RoleStatusCountDto {
  @ApiProperty() role: string;
  @ApiProperty() status: string;
  @ApiProperty() count: number;
}

export class MeterUsageDto {
  @ApiProperty({ example: 'images' }) meter: string;
  @ApiProperty() quantity: number;
  @ApiProperty() costMicros: number;
}

export class TenantUsageFiguresDto {
  @ApiProperty({ example: 'free' }) plan: string;
  @ApiProperty({ format: 'date-time', description: 'Start of the current billing period' }) periodStart: string;
  @ApiProperty({ format: 'date-time' }) periodEnd: string;
  @ApiProperty({ description: 'Uses recorded in the period' }) events: number;
  @ApiProperty() costMicros: number;
  @ApiProperty({ type: [MeterUsageDto] }) meters: MeterUsageDto[];
  @ApiProperty() creditsAvailableMicros: number;
}

export class TenantStatisticsDto {
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() totalUsers: number;
  @ApiProperty({ type: [RoleStatusCountDto] }) users: RoleStatusCountDto[];
  @ApiPropertyOptional({ type: TenantUsageFiguresDto, description: 'Usage in the current billing period' })
  usage?: TenantUsageFiguresDto;
}
