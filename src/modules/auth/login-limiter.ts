import { Inject, Injectable } from '@nestjs/common';
import { AuthError, AuthErrorCode } from '../../core/identity/auth.errors.js';
import { CounterStore } from '../../core/ports/counter-store.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';

const WINDOW_MS = 60_000;

/**
 * Sign-in attempts per client IP (as TRUST_PROXY lets it be known) in fixed
 * one-minute windows, counted in the counter store: shared by every instance
 * through Redis when configured, in this process otherwise or while Redis is down.
 */
@Injectable()
export class LoginLimiter {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly counters: CounterStore,
  ) {}

  async hit(ip: string): Promise<void> {
    const limit = this.config.auth.loginRateLimitPerMinute;
    const { count, resetInMs } = await this.counters.increment(`login-ip:${ip}`, WINDOW_MS);
    if (count > limit) {
      const retryAfter = Math.max(1, Math.ceil(resetInMs / 1000));
      throw new AuthError(
        AuthErrorCode.TOO_MANY_LOGIN_ATTEMPTS,
        `Too many login attempts from this address. Used: ${count - 1}/${limit}. Retry in ${retryAfter} s.`,
        { retryAfterSeconds: retryAfter, limit },
      );
    }
  }
}
