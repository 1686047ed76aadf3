import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { defer, mergeMap, type Observable } from 'rxjs';
import { RequestContext } from '../context/request-context.js';
import { CommonError, CommonErrorCode } from '../errors/app-error.js';
import { TenantScope } from './tenant-scope.service.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * Runs the handler in the tenant the route acts in (TenantScope.select): the
 * caller's own, or for super admins the one named by `?tenantId=`. The
 * parameter is taken out of the query before validation, so query DTOs never
 * declare it.
 */
@Injectable()
export class TenantSelectionInterceptor implements NestInterceptor {
  constructor(
    private readonly scope: TenantScope,
    private readonly context: RequestContext,
  ) {}

  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = execution.switchToHttp().getRequest<FastifyRequest>();
    const query = (request.query ?? {}) as Record<string, unknown>;
    const requested = query.tenantId;
    delete query.tenantId;
    if (requested !== undefined && (typeof requested !== 'string' || !UUID_V4.test(requested))) {
      throw new CommonError(CommonErrorCode.VALIDATION_FAILED, 'Validation failed for tenantId.', {
        errors: [{ field: 'tenantId', messages: ['tenantId must be a UUID'] }],
      });
    }
    return defer(() => this.scope.select(requested as string | undefined)).pipe(
      // next.handle() binds the handler to the async context it is called in.
      mergeMap((tenantId) => this.context.runInTenant(tenantId, () => next.handle())),
    );
  }
}

/** The route acts inside a tenant: the caller's, or the one a super admin names with `?tenantId=`. */
export const ActsInTenant = () =>
  applyDecorators(
    UseInterceptors(TenantSelectionInterceptor),
    ApiQuery({
      name: 'tenantId',
      required: false,
      schema: { type: 'string', format: 'uuid' },
      description: 'Super admins: the tenant to act in (required for them). Others may only name their own.',
    }),
  );
