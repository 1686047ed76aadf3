import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { Matches, ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { permissionsOf, Role, TENANT_ROLES, type TenantRole } from '../../../core/auth/permissions.js';
import { EmailField, IntField, NameField, Nested, NewPasswordField, Optional } from '../../../core/http/dto-fields.js';
import { PageQuery } from '../../../core/http/pagination.js';
import { type User, UserStatus } from '../../../core/identity/user.entity.js';
import { METER_CODE, QUOTA_PERIODS } from '../../../core/identity/lifecycle-hooks.js';

export class UserDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() email: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: TENANT_ROLES }) role: TenantRole;
  @ApiProperty({ enum: UserStatus }) status: UserStatus;
  @ApiProperty() emailVerified: boolean;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;

  /** Explicit mapping: hashes, token versions and lockout state never leave the service. */
  static from(user: User): UserDto {
    return {
      id: user.id,
      tenantId: user.tenantId,
      email: user.email,
      name: user.name,
      role: user.role,
      status: user.status,
      emailVerified: user.emailVerifiedAt !== null,
      createdAt: user.createdAt.toISOString(),
      updatedAt: user.updatedAt.toISOString(),
    };
  }
}

export class UserPageDto {
  @ApiProperty({ type: [UserDto] }) items: UserDto[];
  @ApiProperty() total: number;
  @ApiProperty() limit: number;
  @ApiProperty() offset: number;
}

export class CreateUserDto {
  @NewPasswordField({
    optional: true,
    description: 'Omit to e-mail an invitation instead; common passwords are refused',
  })
  password?: string;

  @EmailField()
  email: string;

  @NameField()
  name: string;

  @ApiProperty({ enum: TENANT_ROLES })
  @IsIn(TENANT_ROLES)
  role: TenantRole;
}

export class BulkUserDto {
  @EmailField()
  email: string;

  @ApiProperty({ enum: TENANT_ROLES })
  @IsIn(TENANT_ROLES)
  role: TenantRole;

  @NameField({ optional: true, description: 'Defaults to the part of the e-mail before @' })
  name?: string;
}

/** A quota given to every user the request creates. */
export class BulkUserQuotaDto {
  @ApiProperty({ example: 'images' })
  @IsString()
  @MaxLength(64)
  @Matches(METER_CODE, { message: 'meter must be a meter code' })
  meter: string;

  @ApiProperty({ enum: QUOTA_PERIODS })
  @IsIn(QUOTA_PERIODS)
  period: (typeof QUOTA_PERIODS)[number];

  @IntField({ min: 0, max: 1_000_000_000_000 })
  limit: number;
}

export class BulkCreateUsersDto {
  @ApiProperty({ type: [BulkUserDto], minItems: 1, maxItems: 100 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @Nested(() => BulkUserDto, { each: true })
  users: BulkUserDto[];

  @ApiPropertyOptional({
    type: [BulkUserQuotaDto],
    maxItems: 100,
    description: "Each created user's own quotas (they can only tighten the plan's)",
  })
  @Optional()
  @IsArray()
  @ArrayMaxSize(100)
  @Nested(() => BulkUserQuotaDto, { each: true })
  quotas?: BulkUserQuotaDto[];
}

export class BulkRowErrorDto {
  @ApiProperty() code: string;
  @ApiProperty() detail: string;
}

export class BulkRowResultDto {
  @ApiProperty() email: string;
  @ApiProperty({ enum: ['invited', 'failed'] }) result: 'invited' | 'failed';
  @ApiPropertyOptional({ type: UserDto }) user?: UserDto;
  @ApiPropertyOptional({ type: BulkRowErrorDto }) error?: BulkRowErrorDto;
}

export class BulkCreateUsersResultDto {
  @ApiProperty({ type: [BulkRowResultDto] }) results: BulkRowResultDto[];
}

export class UpdateUserDto {
  @NameField({ optional: true })
  name?: string;

  @ApiPropertyOptional({ enum: TENANT_ROLES, description: 'Admins only' })
  @Optional()
  @IsIn(TENANT_ROLES)
  role?: TenantRole;

  @ApiPropertyOptional({ enum: [UserStatus.ACTIVE, UserStatus.DISABLED], description: 'Admins only' })
  @Optional()
  @IsIn([UserStatus.ACTIVE, UserStatus.DISABLED])
  status?: UserStatus;
}

export class ListUsersQuery extends PageQuery {
  @ApiPropertyOptional({ enum: TENANT_ROLES })
  @IsOptional()
  @IsIn(TENANT_ROLES)
  role?: TenantRole;

  @ApiPropertyOptional({ enum: UserStatus })
  @IsOptional()
  @IsIn(Object.values(UserStatus))
  status?: UserStatus;

  @ApiPropertyOptional({ description: 'Matches e-mail or name' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;
}

export class DeleteUserQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'Purge the row instead of the default soft delete' })
  @IsOptional()
  @IsIn(['true', 'false'])
  hard?: 'true' | 'false';
}

export class UserPermissionsDto {
  @ApiProperty({ enum: TENANT_ROLES }) role: TenantRole;
  @ApiProperty({ type: [String] }) permissions: string[];

  static of(user: User): UserPermissionsDto {
    return { role: user.role, permissions: [...permissionsOf(user.role as unknown as Role)] };
  }
}
