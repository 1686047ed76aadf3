import { AppError } from '../errors/app-error.js';

export enum ApiKeyErrorCode {
  API_KEY_MALFORMED = 'API_KEY_MALFORMED',
  API_KEY_INVALID = 'API_KEY_INVALID',
  API_KEY_REVOKED = 'API_KEY_REVOKED',
  API_KEY_EXPIRED = 'API_KEY_EXPIRED',
  API_KEY_IN_QUERY = 'API_KEY_IN_QUERY',
  API_KEY_NOT_FOUND = 'API_KEY_NOT_FOUND',
  SCOPE_NOT_HELD = 'SCOPE_NOT_HELD',
  EXPIRY_BEYOND_CREATOR = 'EXPIRY_BEYOND_CREATOR',
  API_KEY_OWNER_REQUIRED = 'API_KEY_OWNER_REQUIRED',
}

function statusOf(code: ApiKeyErrorCode): number {
  switch (code) {
    case ApiKeyErrorCode.API_KEY_IN_QUERY:
    case ApiKeyErrorCode.API_KEY_OWNER_REQUIRED:
      return 400;
    case ApiKeyErrorCode.API_KEY_MALFORMED:
    case ApiKeyErrorCode.API_KEY_INVALID:
    case ApiKeyErrorCode.API_KEY_REVOKED:
    case ApiKeyErrorCode.API_KEY_EXPIRED:
      return 401;
    case ApiKeyErrorCode.SCOPE_NOT_HELD:
    case ApiKeyErrorCode.EXPIRY_BEYOND_CREATOR:
      return 403;
    case ApiKeyErrorCode.API_KEY_NOT_FOUND:
      return 404;
    default: {
      const unhandled: never = code;
      throw new Error(`No HTTP status for ${String(unhandled)}`);
    }
  }
}

export class ApiKeyError extends AppError {
  constructor(code: ApiKeyErrorCode, detail: string) {
    super(code, statusOf(code), detail);
  }
}

export const apiKeyNotFound = () => new ApiKeyError(ApiKeyErrorCode.API_KEY_NOT_FOUND, 'API key not found.');
