import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OneTimeToken } from './one-time-token.entity.js';
import { OneTimeTokenService } from './one-time-token.service.js';
import { PasswordService } from './password.service.js';

/** Password hashing and single-use mail tokens, shared by auth and users. */
@Module({
  imports: [TypeOrmModule.forFeature([OneTimeToken])],
  providers: [PasswordService, OneTimeTokenService],
  exports: [PasswordService, OneTimeTokenService],
})
export class CredentialsModule {}
