import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheckService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { Role } from '../../core/auth/permissions.js';
import { RequestContext } from '../../core/context/request-context.js';
import { DatabaseHealth } from '../../core/database/database-health.js';
import { CommonError, CommonErrorCode } from '../../core/errors/app-error.js';
import { RedisConnection } from '../../core/redis/redis.module.js';

const CHECK_TIMEOUT_MS = 1500;

export interface Readiness {
  status: 'ok';
  /** Super admins only: each dependency's state and the database engine. */
  details?: HealthCheckResult['details'];
  database?: { engine: string; version: string; rowLevelSecurity: boolean; vectorSearch: string };
}

@Injectable()
export class HealthService {
  constructor(
    private readonly checks: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseHealth,
    private readonly redis: RedisConnection,
    private readonly context: RequestContext,
  ) {}

  /** Liveness needs no check: answering at all is the proof. */
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: status for anyone; which dependency is up or down, and versions, only for super admins. */
  async ready(): Promise<Readiness> {
    const detailed = this.context.hasPrincipal && this.context.principal.role === Role.SUPER_ADMIN;
    const checks: HealthIndicatorFunction[] = [
      () =>
        this.indicators
          .check('database')
          .attempt(() => this.database.ping())
          .withTimeout(CHECK_TIMEOUT_MS),
    ];
    if (this.redis.configured) {
      checks.push(() =>
        this.indicators
          .check('redis')
          .attempt(() => this.redis.ping())
          .withTimeout(CHECK_TIMEOUT_MS),
      );
    }
    const result = await this.checks.check(checks).catch((err: unknown) => {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const failed = err.getResponse() as HealthCheckResult;
      const down = Object.keys(failed.error ?? {});
      throw new CommonError(
        CommonErrorCode.SERVICE_UNAVAILABLE,
        detailed ? `Not ready: ${down.join(', ')} down.` : 'Not ready.',
        detailed ? { details: failed.details, retryAfterSeconds: 5 } : { retryAfterSeconds: 5 },
      );
    });
    if (!detailed) return { status: 'ok' };
    return { status: 'ok', details: result.details, database: await this.database.describe() };
  }
}
