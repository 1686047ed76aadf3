import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiKeyAuthenticator } from './auth/api-key-authenticator.js';
import { AuthGuard } from './auth/auth.guard.js';
import { JwtPassportGuard, JwtStrategy } from './auth/jwt.strategy.js';
import { PrincipalCache } from './auth/principal-cache.js';
import { PrincipalEvents } from './auth/principal-events.js';
import { PrincipalResolver } from './auth/principal-resolver.js';
import { JwtSecret, TokenService } from './auth/token.service.js';
import { VerifiedTokens } from './auth/verified-tokens.js';
import { RequestContext } from './context/request-context.js';
import { CoreEntitiesModule } from './database/core-entities.module.js';
import { DatabaseHealth } from './database/database-health.js';
import { UnitOfWork } from './database/unit-of-work.js';
import { ApiKeyIssuer } from './identity/api-key-issuer.service.js';
import { ApiKeysRepository } from './identity/api-keys.repository.js';
import { IdentityLookupRepository } from './identity/identity-lookup.repository.js';
import { LifecycleHooks } from './identity/lifecycle-hooks.js';
import { OneTimeTokenService } from './identity/one-time-token.service.js';
import { OneTimeTokensRepository } from './identity/one-time-tokens.repository.js';
import { PasswordService } from './identity/password.service.js';
import { PlatformAdminsRepository } from './identity/platform-admins.repository.js';
import { SessionsRepository } from './identity/sessions.repository.js';
import { TenantProvisioning } from './identity/tenant-provisioning.service.js';
import { TenantScope } from './identity/tenant-scope.service.js';
import { TenantSelectionInterceptor } from './identity/tenant-selection.js';
import { TenantsRepository } from './identity/tenants.repository.js';
import { UserAccountsService } from './identity/user-accounts.service.js';
import { UsersRepository } from './identity/users.repository.js';
import { MailModule } from './mail/mail.module.js';
import { MetricsService } from './metrics/metrics.service.js';
import { PortsModule } from './ports/ports.module.js';
import { RedisModule } from './redis/redis.module.js';

const identity = [
  TenantsRepository,
  UsersRepository,
  ApiKeysRepository,
  OneTimeTokensRepository,
  IdentityLookupRepository,
  PlatformAdminsRepository,
  SessionsRepository,
  PasswordService,
  OneTimeTokenService,
  UserAccountsService,
  ApiKeyIssuer,
  TenantProvisioning,
  LifecycleHooks,
  TenantScope,
  TenantSelectionInterceptor,
];

const auth = [
  PrincipalCache,
  PrincipalEvents,
  PrincipalResolver,
  ApiKeyAuthenticator,
  TokenService,
  JwtStrategy,
  JwtPassportGuard,
  VerifiedTokens,
];

/**
 * The identity and tenancy core every feature module builds on: request
 * context, unit of work, tenant-scoped repositories of the identity tables,
 * authentication (the global deny-by-default guard), the I/O ports and mail.
 * Feature modules import from here; nothing here imports a feature module.
 */
@Global()
@Module({
  imports: [
    CoreEntitiesModule,
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ secret: config.auth.jwtSecret }),
    }),
    PassportModule,
    RedisModule,
    PortsModule,
    MailModule,
  ],
  providers: [
    RequestContext,
    UnitOfWork,
    DatabaseHealth,
    MetricsService,
    {
      provide: JwtSecret,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new JwtSecret(config.auth.jwtSecret),
    },
    ...identity,
    ...auth,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [RequestContext, UnitOfWork, DatabaseHealth, MetricsService, ...identity, ...auth],
})
export class CoreModule {}
