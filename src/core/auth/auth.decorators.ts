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
export type AuthRequirement = { permission: Permission; superAdmin?: never } | { superAdmin: true; permission?: never };

interface PublicRequirement {
  public: true;
}

export type RouteRequirement = AuthRequirement | PublicRequirement;

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetailsDto) } } },
});

/** Opts a route (or controller) out of authentication. Everything else is denied by default. */
export const Public = () =>
  applyDecorators(
    SetMetadata(AUTH_REQUIREMENT, { public: true } satisfies PublicRequirement),
    ApiExtension('x-required-permission', 'public'),
  );

/**
 * Declares in one place who may call a route: authentication, the required
 * permission and the matching OpenAPI security and error responses. Routes
 * with a permission accept JWTs and API keys (a key's scopes must include the
 * permission); super-admin routes accept only a super admin's JWT.
 */
export function Authenticated(requirement: AuthRequirement) {
  const needs = requirement.superAdmin ? 'super_admin' : requirement.permission;
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
