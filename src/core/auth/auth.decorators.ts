import { applyDecorators, SetMetadata } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtension,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { ProblemDetailsDto } from '../errors/problem-details.dto.js';
import { API_KEY_AUTH, BEARER_AUTH } from './auth-schemes.js';
import type { Permission } from './permissions.js';

export const AUTH_REQUIREMENT = 'atrium:auth';

/** Who may call a route: a named permission (checked against roles and API-key scopes), or super admins only. */
export type AuthRequirement =
  | { permission: Permission; superAdmin?: never; metricsToken?: never }
  | {
      superAdmin: true;
      permission?: never;
      /** Also admit `Authorization: Bearer <METRICS_TOKEN>` when that setting is set (scrapers). */
      metricsToken?: boolean;
    };

interface PublicRequirement {
  public: true;
  /** Credentials, when sent, are resolved (and a bad one ignored), so the handler can tell who calls. */
  identify?: boolean;
}

export type RouteRequirement = AuthRequirement | PublicRequirement;

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetailsDto) } } },
});

/**
 * Opts a route (or controller) out of authentication. Everything else is denied
 * by default. With `identify`, credentials that are sent are resolved, so the
 * route can answer more to some callers (super admins) than to anyone.
 */
export const Public = ({ identify = false }: { identify?: boolean } = {}) =>
  applyDecorators(
    SetMetadata(AUTH_REQUIREMENT, { public: true, identify } satisfies PublicRequirement),
    ApiExtension('x-required-permission', 'public'),
    ...(identify ? [ApiBearerAuth(BEARER_AUTH)] : []),
  );

/**
 * Declares in one place who may call a route: authentication, the required
 * permission and the matching OpenAPI security and error responses. Routes
 * with a permission accept JWTs and API keys (a key's scopes must include the
 * permission); super-admin routes accept only a super admin's JWT.
 */
export function Authenticated(requirement: AuthRequirement) {
  const needs = requirement.superAdmin
    ? requirement.metricsToken
      ? 'super_admin or METRICS_TOKEN'
      : 'super_admin'
    : requirement.permission;
  return applyDecorators(
    SetMetadata(AUTH_REQUIREMENT, requirement),
    ApiBearerAuth(BEARER_AUTH),
    ...(requirement.superAdmin ? [] : [ApiSecurity(API_KEY_AUTH)]),
    ApiExtraModels(ProblemDetailsDto),
    ApiExtension('x-required-permission', needs),
    ApiUnauthorizedResponse(problem('Missing, invalid or expired credentials')),
    ApiForbiddenResponse(problem(`Requires ${needs}, or the tenant is suspended`)),
  );
}
