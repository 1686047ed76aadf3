import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheckService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { CommonError, CommonErrorCode } from '../../core/errors/app-error.js';
import { RedisConnection } from '../../core/redis/redis.module.js';

const CHECK_TIMEOUT_MS = 1500;

@Injectable()
export class HealthService {
  constructor(
    private readonly checks: HealthCheckService,
    private readonly dataSource: DataSource,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisConnection,
  ) {}

  /** Liveness needs no check: answering at all is the proof (the shape matches readiness). */
  live(): HealthCheckResult {
    return { status: 'ok', info: {}, error: {}, details: {} };
  }

  ready() {
    const checks: HealthIndicatorFunction[] = [
      () =>
        this.indicators
          .check('database')
          .attempt(async () => {
            await this.dataSource.query('SELECT 1');
          })
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
    return this.checks.check(checks).catch((err: unknown) => {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      // Keep terminus' per-dependency details in the problem document.
      const result = err.getResponse() as HealthCheckResult;
      const down = Object.keys(result.error ?? {});
      throw new CommonError(CommonErrorCode.SERVICE_UNAVAILABLE, `Not ready: ${down.join(', ')} down.`, {
        details: result.details,
      });
    });
  }
}
