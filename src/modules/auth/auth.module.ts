import { Module } from '@nestjs/common';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { LoginLimiter } from './login-limiter.js';
import { MeService } from './me.service.js';

/** Sign-up, sign-in, sessions and account self-service; authentication itself lives in the core. */
@Module({
  controllers: [AuthController],
  providers: [AuthService, LoginLimiter, MeService],
})
export class AuthModule {}
