import { Inject, Injectable } from '@nestjs/common';
import { RedisConnection } from '../../common/redis/redis.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { AuthError, AuthErrorCode } from './auth.errors.js';

const WINDOW_SECONDS = 60;

/**
 * Login attempts per client IP in fixed one-minute windows: in Redis when
 * configured (shared by every instance), otherwise in this process.
 */
@Injectable()
export class LoginLimiter {
  private readonly local = new Map<string, { count: number; resetAt: number }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisConnection,
  ) {}

  async hit(ip: string): Promise<void> {
    const limit = this.config.auth.loginRateLimitPerMinute;
    const { count, retryAfter } = await this.increment(ip);
    if (count > limit) {
      throw new AuthError(
        AuthErrorCode.TOO_MANY_LOGIN_ATTEMPTS,
        `Too many login attempts from this address. Used: ${count - 1}/${limit}. Retry in ${retryAfter} s.`,
        { retryAfterSeconds: retryAfter, limit },
      );
    }
  }

  private async increment(ip: string): Promise<{ count: number; retryAfter: number }> {
    const client = this.redis.client;
    if (client) {
      const key = `atrium:login-ip:${ip}`;
      const [[, count], [, ttl]] = (await client.multi().incr(key).ttl(key).exec()) as [[null, number], [null, number]];
      if (ttl < 0) await client.expire(key, WINDOW_SECONDS);
      return { count, retryAfter: ttl > 0 ? ttl : WINDOW_SECONDS };
    }
    const now = Date.now();
    let entry = this.local.get(ip);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + WINDOW_SECONDS * 1000 };
      this.local.set(ip, entry);
    }
    entry.count += 1;
    if (this.local.size > 10_000) this.prune(now);
    return { count: entry.count, retryAfter: Math.ceil((entry.resetAt - now) / 1000) };
  }

  private prune(now: number) {
    for (const [key, entry] of this.local) if (entry.resetAt <= now) this.local.delete(key);
  }
}
