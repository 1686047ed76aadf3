import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { TenantDto } from '../../tenants/dto/tenant.dto.js';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class RegisterDto {
  @ApiProperty({ example: 'ada@example.com' })
  @Transform(trim)
  @IsEmail()
  @MaxLength(320)
  email: string;

  @ApiProperty({ minLength: 8, maxLength: 128 })
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  password: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional({ example: 'Analytical Engines Ltd' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  tenantName?: string;

  @ApiPropertyOptional({ description: 'Joins the inviting tenant instead of creating one' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  invitationToken?: string;
}

export class ForgotPasswordDto {
  @ApiProperty()
  @Transform(trim)
  @IsEmail()
  @MaxLength(320)
  email: string;

  @ApiPropertyOptional({ description: "The tenant's slug, when the e-mail is in several tenants" })
  @IsOptional()
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
  @ApiProperty({ minLength: 8, maxLength: 128 })
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  password: string;
}

export class LoginDto {
  @ApiProperty({ example: 'ada@example.com' })
  @Transform(trim)
  @IsEmail()
  @MaxLength(320)
  email: string;

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password: string;

  @ApiPropertyOptional({ description: "The tenant's slug; needed when the e-mail has accounts in several tenants" })
  @IsOptional()
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

  @ApiProperty({ minLength: 8, maxLength: 128 })
  @IsString()
  @MinLength(8)
  @MaxLength(128)
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

export class MeDto {
  @ApiProperty({ enum: ['user', 'platform_admin'] }) kind: string;
  @ApiProperty({ type: PrincipalUserDto }) user: PrincipalUserDto;
  @ApiPropertyOptional({ type: TenantDto, nullable: true }) tenant: TenantDto | null;
  @ApiProperty() role: string;
  @ApiProperty({ type: [String] }) permissions: string[];
}
