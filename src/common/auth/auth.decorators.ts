import { applyDecorators, SetMetadata } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtension,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { ProblemDetailsDto } from '../errors/problem-details.dto.js';
import type { Permission } from './permissions.js';

export const AUTH_REQUIREMENT = 'atrium:auth';

export interface AuthRequirement {
  /** The permission the caller must hold; omitted means any authenticated principal. */
  permission?: Permission;
  /** Only super admins (platform routes). */
  superAdmin?: boolean;
  /** Open to everyone, no authentication. */
  public?: boolean;
}

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetailsDto) } } },
});

/** Opts a route (or controller) out of authentication. Everything else is denied by default. */
export const Public = () =>
  applyDecorators(
    SetMetadata(AUTH_REQUIREMENT, { public: true } satisfies AuthRequirement),
    ApiExtension('x-required-permission', 'public'),
  );

/**
 * Declares in one place who may call a route: authentication, the required
 * permission and the matching OpenAPI security and error responses.
 */
export function Authenticated(requirement: Omit<AuthRequirement, 'public'> = {}) {
  const needs = requirement.superAdmin ? 'super_admin' : (requirement.permission ?? 'authenticated');
  return applyDecorators(
    SetMetadata(AUTH_REQUIREMENT, requirement),
    ApiBearerAuth('bearer'),
    ApiExtraModels(ProblemDetailsDto),
    ApiExtension('x-required-permission', needs),
    ApiUnauthorizedResponse(problem('Missing, invalid or expired credentials')),
    ApiForbiddenResponse(problem(`Requires ${needs}, or the tenant is suspended`)),
  );
}
