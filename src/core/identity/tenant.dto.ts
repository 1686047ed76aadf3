import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { type Tenant, TenantStatus } from './tenant.entity.js';

type TenantFields = Pick<Tenant, 'id' | 'name' | 'slug' | 'statusReason' | 'settings' | 'createdAt' | 'updatedAt'> & {
  status: string;
};

/** A tenant as every response shows it (tenant routes, GET /auth/me). */
export class TenantDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() slug: string;
  @ApiProperty({ enum: TenantStatus }) status: TenantStatus;
  @ApiPropertyOptional({ nullable: true, type: String }) statusReason: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) settings: Record<string, unknown>;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;

  static from(tenant: TenantFields): TenantDto {
    return {
      id: tenant.id,
      name: tenant.name,
      slug: tenant.slug,
      status: tenant.status as TenantStatus,
      statusReason: tenant.statusReason,
      settings: tenant.settings,
      createdAt: tenant.createdAt.toISOString(),
      updatedAt: tenant.updatedAt.toISOString(),
    };
  }
}
