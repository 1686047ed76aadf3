import { randomBytes } from 'node:crypto';
import { Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { TenantsDataModule } from '../tenants/tenants-data.module.js';
import { Tenant } from '../tenants/tenant.entity.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { User } from '../users/user.entity.js';
import { UsersModule } from '../users/users.module.js';
import { AuthSession } from './auth-session.entity.js';
import { AuthController } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import { AuthRepository } from './auth.repository.js';
import { AuthService } from './auth.service.js';
import { LoginLimiter } from './login-limiter.js';
import { MeService } from './me.service.js';
import { CredentialsModule } from './credentials.module.js';
import { PlatformAdmin } from './platform-admin.entity.js';
import { TokenService } from './token.service.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([User, Tenant, PlatformAdmin, AuthSession]),
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        if (config.auth.jwtSecret) return { secret: config.auth.jwtSecret };
        new Logger('Auth').warn('JWT_SECRET is unset: using a random secret, so tokens end with this process');
        return { secret: randomBytes(32).toString('base64') };
      },
    }),
    CredentialsModule,
    TenantsDataModule,
    TenantsModule,
    UsersModule,
    ApiKeysModule,
  ],
  controllers: [AuthController],
  providers: [
    AuthRepository,
    AuthService,
    TokenService,
    LoginLimiter,
    MeService,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class AuthModule {}
