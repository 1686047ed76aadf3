import { AppError } from '../errors/app-error.js';

export enum TenantErrorCode {
  TENANT_NOT_FOUND = 'TENANT_NOT_FOUND',
  TENANT_SLUG_TAKEN = 'TENANT_SLUG_TAKEN',
  TENANT_STATE_CONFLICT = 'TENANT_STATE_CONFLICT',
  TENANT_FIELD_FORBIDDEN = 'TENANT_FIELD_FORBIDDEN',
  TENANT_REQUIRED = 'TENANT_REQUIRED',
}

function statusOf(code: TenantErrorCode): number {
  switch (code) {
    case TenantErrorCode.TENANT_REQUIRED:
      return 400;
    case TenantErrorCode.TENANT_NOT_FOUND:
      return 404;
    case TenantErrorCode.TENANT_SLUG_TAKEN:
    case TenantErrorCode.TENANT_STATE_CONFLICT:
      return 409;
    case TenantErrorCode.TENANT_FIELD_FORBIDDEN:
      return 403;
    default: {
      const unhandled: never = code;
      throw new Error(`No HTTP status for ${String(unhandled)}`);
    }
  }
}

export class TenantError extends AppError {
  constructor(code: TenantErrorCode, detail: string) {
    super(code, statusOf(code), detail);
  }
}

export const tenantNotFound = () => new TenantError(TenantErrorCode.TENANT_NOT_FOUND, 'Tenant not found.');
