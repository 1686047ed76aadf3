import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from '../identity/api-key.entity.js';
import { AuthSession } from '../identity/auth-session.entity.js';
import { OneTimeToken } from '../identity/one-time-token.entity.js';
import { PlatformAdmin } from '../identity/platform-admin.entity.js';
import { Tenant } from '../identity/tenant.entity.js';
import { User } from '../identity/user.entity.js';
import { MailOutbox } from '../mail/mail-outbox.entity.js';

/** Registers the core's entities with the data source; repositories reach them through the unit of work. */
@Module({
  imports: [TypeOrmModule.forFeature([Tenant, User, ApiKey, OneTimeToken, PlatformAdmin, AuthSession, MailOutbox])],
})
export class CoreEntitiesModule {}
