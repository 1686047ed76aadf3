import { Body, Controller, Get, Header, HttpCode, Ip, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Authenticated, Public } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import { AuthService } from './auth.service.js';
import { MeService } from './me.service.js';
import {
  ChangePasswordDto,
  ForgotPasswordDto,
  OneTimeTokenDto,
  ResetPasswordDto,
  LoginDto,
  MeDto,
  RefreshDto,
  RegisterDto,
  SignedInDto,
  TokensDto,
} from './dto/auth.dto.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly me: MeService,
  ) {}

  @Post('register')
  @Public()
  @ApiOperation({
    summary:
      'Sign up: with an invitation joins that tenant; otherwise (open sign-up) creates a tenant with the caller as its admin',
  })
  @ApiCreatedResponse({ type: SignedInDto })
  @ApiConflictResponse({ description: 'The e-mail exists in that tenant' })
  async register(@Body() body: RegisterDto): Promise<SignedInDto> {
    return this.me.signedIn(await this.auth.register(body));
  }

  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Sign in with e-mail and password; pass the tenant slug when the password opens accounts in several tenants',
  })
  @ApiOkResponse({ type: SignedInDto })
  @ApiUnauthorizedResponse({ description: 'Wrong e-mail, password or tenant, or the account is locked (same answer)' })
  @ApiBadRequestResponse({
    description: 'TENANT_REQUIRED: the password opens several tenant accounts; `tenants` lists them',
  })
  @ApiTooManyRequestsResponse({ description: 'Too many attempts from this address' })
  async login(@Body() body: LoginDto, @Ip() ip: string): Promise<SignedInDto> {
    return this.me.signedIn(await this.auth.login({ ...body, ip }));
  }

  @Post('refresh')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange a refresh token for new tokens; each refresh token works once' })
  @ApiOkResponse({ type: TokensDto })
  @ApiUnauthorizedResponse({ description: 'Invalid, expired or reused (the whole sign-in is then revoked)' })
  refresh(@Body() body: RefreshDto): Promise<TokensDto> {
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  @Authenticated({ permission: Permission.PROFILE_WRITE })
  @ApiOperation({ summary: 'Sign out: revokes the sign-in the refresh token belongs to' })
  @ApiNoContentResponse({ description: 'Signed out' })
  async logout(@Body() body: RefreshDto): Promise<void> {
    await this.auth.logout(body.refreshToken);
  }

  @Post('logout-all')
  @HttpCode(204)
  @Authenticated({ permission: Permission.PROFILE_WRITE })
  @ApiOperation({ summary: "Sign out everywhere: revokes every one of the caller's tokens" })
  @ApiNoContentResponse({ description: 'Signed out everywhere' })
  async logoutAll(): Promise<void> {
    await this.auth.logoutAll();
  }

  @Post('forgot-password')
  @Public()
  @HttpCode(202)
  @ApiOperation({ summary: 'Mail a password-reset token; always 202, whether or not the account exists' })
  @ApiAcceptedResponse({ description: 'If the account exists, a reset token was mailed' })
  async forgotPassword(@Body() body: ForgotPasswordDto, @Ip() ip: string): Promise<void> {
    await this.auth.forgotPassword(body.email, body.tenant, ip);
  }

  @Post('reset-password')
  @Public()
  @HttpCode(204)
  @ApiOperation({ summary: 'Set a new password with a reset token; signs out every session' })
  @ApiNoContentResponse({ description: 'Password changed' })
  async resetPassword(@Body() body: ResetPasswordDto): Promise<void> {
    await this.auth.resetPassword(body.token, body.password);
  }

  @Post('verify-email')
  @Public()
  @HttpCode(204)
  @ApiOperation({ summary: 'Confirm an e-mail address with the mailed token' })
  @ApiNoContentResponse({ description: 'Address verified' })
  async verifyEmail(@Body() body: OneTimeTokenDto): Promise<void> {
    await this.auth.verifyEmail(body.token);
  }

  @Post('resend-verification')
  @HttpCode(202)
  @Authenticated({ permission: Permission.PROFILE_WRITE })
  @ApiOperation({ summary: "Mail a new verification token for the caller's address" })
  @ApiAcceptedResponse({ description: 'Mailed, unless the address is already verified' })
  async resendVerification(): Promise<void> {
    await this.auth.resendVerification();
  }

  @Get('me')
  @Authenticated({ permission: Permission.PROFILE_READ })
  @ApiOperation({ summary: 'The caller: user, tenant, role and permissions' })
  @ApiOkResponse({ type: MeDto })
  @Header('content-type', 'application/json; charset=utf-8')
  whoami(): string {
    return this.me.describe();
  }

  @Post('change-password')
  @HttpCode(200)
  @Authenticated({ permission: Permission.PROFILE_WRITE })
  @ApiOperation({ summary: "Change the caller's password; every other session is signed out" })
  @ApiOkResponse({ type: TokensDto, description: 'A fresh sign-in for this client' })
  changePassword(@Body() body: ChangePasswordDto): Promise<TokensDto> {
    return this.auth.changePassword(body.currentPassword, body.newPassword);
  }
}
