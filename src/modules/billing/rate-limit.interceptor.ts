import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { from, mergeMap, type Observable } from 'rxjs';
import { RequestContext } from '../../core/context/request-context.js';
import { MetricsService } from '../../core/metrics/metrics.service.js';
import { CounterStore } from '../../core/ports/counter-store.js';
import { BillingError, BillingErrorCode } from './billing.errors.js';
import { PlanCache } from './plan-cache.js';
import { isoSeconds } from './windows.js';

const WINDOW_MS = 60_000;

interface Limit {
  name: 'caller' | 'tenant';
  key: string;
  quota: number;
}

/**
 * The plan's rate limits on metered routes: `requestsPerMinute` per user or
 * API key and `tenantRequestsPerMinute` per tenant, counted in fixed one-minute
 * windows in the counter store (one atomic Redis script per limit when
 * REDIS_URL is set, this process otherwise or while Redis is down). Answers
 * carry `RateLimit-Policy` and `RateLimit` (IETF draft); a refusal is 429
 * RATE_LIMITED with Retry-After.
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly context: RequestContext,
    private readonly plans: PlanCache,
    private readonly counters: CounterStore,
    private readonly metrics: MetricsService,
  ) {}

  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const reply = execution.switchToHttp().getResponse<FastifyReply>();
    return from(this.admit(reply)).pipe(mergeMap(() => next.handle()));
  }

  private async admit(reply: FastifyReply): Promise<void> {
    const tenantId = this.context.tenantId;
    const principal = this.context.principal;
    const tenantPlan = await this.plans.current(tenantId);
    const rates = tenantPlan?.plan.rateLimits ?? {};
    const caller = principal.apiKeyId ?? principal.userId ?? principal.subject;
    const limits: Limit[] = [];
    if (rates.requestsPerMinute)
      limits.push({ name: 'caller', key: `rl:${tenantId}:${caller}`, quota: rates.requestsPerMinute });
    if (rates.tenantRequestsPerMinute)
      limits.push({ name: 'tenant', key: `rl:${tenantId}`, quota: rates.tenantRequestsPerMinute });
    if (limits.length === 0) return;
    const hits = await Promise.all(limits.map((l) => this.counters.increment(l.key, WINDOW_MS)));
    const state = limits.map((l, i) => ({
      ...l,
      remaining: Math.max(0, l.quota - hits[i].count),
      resetSeconds: Math.max(1, Math.ceil(hits[i].resetInMs / 1000)),
      over: hits[i].count > l.quota,
    }));
    reply.header('ratelimit-policy', state.map((s) => `"${s.name}";q=${s.quota};w=${WINDOW_MS / 1000}`).join(', '));
    reply.header('ratelimit', state.map((s) => `"${s.name}";r=${s.remaining};t=${s.resetSeconds}`).join(', '));
    const refused = state.find((s) => s.over);
    if (refused) {
      this.metrics.rateLimited.inc({ scope: refused.name });
      throw new BillingError(
        BillingErrorCode.RATE_LIMITED,
        `Rate limit exceeded (${refused.name}): ${refused.quota} requests per minute. Retry in ${refused.resetSeconds} s.`,
        {
          scope: refused.name,
          limit: refused.quota,
          remaining: 0,
          resetsAt: isoSeconds(new Date(Date.now() + refused.resetSeconds * 1000)),
          retryAfterSeconds: refused.resetSeconds,
        },
      );
    }
  }
}

/** A metered route: the plan's rate limits apply, and the answer carries the rate-limit headers. */
export const Metered = () =>
  applyDecorators(
    UseInterceptors(RateLimitInterceptor),
    ApiTooManyRequestsResponse({
      description: 'RATE_LIMITED or QUOTA_EXCEEDED (problem details with Retry-After)',
      headers: {
        'Retry-After': { description: 'Seconds until the limit or quota resets', schema: { type: 'integer' } },
        'RateLimit-Policy': { description: 'The rate limits that apply (IETF draft)', schema: { type: 'string' } },
        RateLimit: {
          description: 'What remains of each limit and when it resets (IETF draft)',
          schema: { type: 'string' },
        },
      },
    }),
  );
