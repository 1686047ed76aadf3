import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { EmailField, NameField, NewPasswordField, Optional } from '../../../core/http/dto-fields.js';
import { TenantDto } from '../../../core/identity/tenant.dto.js';

export class RegisterDto {
  @EmailField()
  email: string;

  @NewPasswordField()
  password: string;

  @NameField()
  name: string;

  @NameField({ optional: true, example: 'Analytical Engines Ltd' })
  tenantName?: string;

  @ApiPropertyOptional({ description: 'Joins the inviting tenant instead of creating one' })
  @Optional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  invitationToken?: string;
}

export class ForgotPasswordDto {
  @EmailField()
  email: string;

  @ApiPropertyOptional({ description: "The tenant's slug, when the e-mail is in several tenants" })
  @Optional()
  @Matches(/^[a-z0-9-]{1,63}$/)
  tenant?: string;
}

export class OneTimeTokenDto {
  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  token: string;
}

export class ResetPasswordDto extends OneTimeTokenDto {
  @NewPasswordField()
  password: string;
}

export class LoginDto {
  @EmailField()
  email: string;

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password: string;

  @ApiPropertyOptional({ description: "The tenant's slug; needed when the e-mail has accounts in several tenants" })
  @Optional()
  @Matches(/^[a-z0-9-]{1,63}$/)
  tenant?: string;
}

export class RefreshDto {
  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  refreshToken: string;
}

export class ChangePasswordDto {
  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  currentPassword: string;

  @NewPasswordField()
  newPassword: string;
}

export class TokensDto {
  @ApiProperty() accessToken: string;
  @ApiProperty() refreshToken: string;
  @ApiProperty({ enum: ['Bearer'] }) tokenType: 'Bearer';
  @ApiProperty({ description: 'Access token lifetime in seconds' }) expiresIn: number;
}

export class PrincipalUserDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() email: string;
  @ApiProperty() name: string;
  @ApiProperty() role: string;
}

export class SignedInDto extends TokensDto {
  @ApiProperty({ type: PrincipalUserDto }) user: PrincipalUserDto;
}

export class MeApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'atr_live_AbCdEfGh' }) prefix: string;
}

export class MeDto {
  @ApiProperty({ enum: ['user', 'platform_admin', 'tenant_app'] }) kind: string;
  @ApiPropertyOptional({ type: PrincipalUserDto, nullable: true, description: 'Null for a tenant app' })
  user: PrincipalUserDto | null;
  @ApiPropertyOptional({ type: MeApiKeyDto, nullable: true, description: 'The key the request used, if any' })
  apiKey: MeApiKeyDto | null;
  @ApiPropertyOptional({ type: TenantDto, nullable: true }) tenant: TenantDto | null;
  @ApiProperty() role: string;
  @ApiProperty({
    type: [String],
    description: 'Effective permissions (for a key: its scopes within the owner’s current permissions)',
  })
  permissions: string[];
}
