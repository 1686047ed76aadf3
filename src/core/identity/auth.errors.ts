import { AppError } from '../errors/app-error.js';

export enum AuthErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  INVALID_CREDENTIALS = 'INVALID_CREDENTIALS',
  TOKEN_INVALID = 'TOKEN_INVALID',
  REFRESH_TOKEN_INVALID = 'REFRESH_TOKEN_INVALID',
  REFRESH_TOKEN_REUSED = 'REFRESH_TOKEN_REUSED',
  TENANT_REQUIRED = 'TENANT_REQUIRED',
  TENANT_SUSPENDED = 'TENANT_SUSPENDED',
  PERMISSION_DENIED = 'PERMISSION_DENIED',
  SIGNUP_CLOSED = 'SIGNUP_CLOSED',
  EMAIL_TAKEN = 'EMAIL_TAKEN',
  PASSWORD_REJECTED = 'PASSWORD_REJECTED',
  TOO_MANY_LOGIN_ATTEMPTS = 'TOO_MANY_LOGIN_ATTEMPTS',
  ONE_TIME_TOKEN_INVALID = 'ONE_TIME_TOKEN_INVALID',
}

function statusOf(code: AuthErrorCode): number {
  switch (code) {
    case AuthErrorCode.TENANT_REQUIRED:
    case AuthErrorCode.PASSWORD_REJECTED:
    case AuthErrorCode.ONE_TIME_TOKEN_INVALID:
      return 400;
    case AuthErrorCode.UNAUTHENTICATED:
    case AuthErrorCode.INVALID_CREDENTIALS:
    case AuthErrorCode.TOKEN_INVALID:
    case AuthErrorCode.REFRESH_TOKEN_INVALID:
    case AuthErrorCode.REFRESH_TOKEN_REUSED:
      return 401;
    case AuthErrorCode.TENANT_SUSPENDED:
    case AuthErrorCode.PERMISSION_DENIED:
    case AuthErrorCode.SIGNUP_CLOSED:
      return 403;
    case AuthErrorCode.EMAIL_TAKEN:
      return 409;
    case AuthErrorCode.TOO_MANY_LOGIN_ATTEMPTS:
      return 429;
    default: {
      const unhandled: never = code;
      throw new Error(`No HTTP status for ${String(unhandled)}`);
    }
  }
}

export class AuthError extends AppError {
  constructor(code: AuthErrorCode, detail: string, extensions: Record<string, unknown> = {}) {
    super(code, statusOf(code), detail, extensions);
  }
}

export const suspended = () => new AuthError(AuthErrorCode.TENANT_SUSPENDED, 'This tenant is suspended.');
