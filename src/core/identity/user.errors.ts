import { AppError } from '../errors/app-error.js';

export enum UserErrorCode {
  USER_NOT_FOUND = 'USER_NOT_FOUND',
  EMAIL_TAKEN = 'EMAIL_TAKEN',
  LAST_TENANT_ADMIN = 'LAST_TENANT_ADMIN',
  ROLE_NOT_ASSIGNABLE = 'ROLE_NOT_ASSIGNABLE',
  USER_FIELD_FORBIDDEN = 'USER_FIELD_FORBIDDEN',
}

function statusOf(code: UserErrorCode): number {
  switch (code) {
    case UserErrorCode.ROLE_NOT_ASSIGNABLE:
    case UserErrorCode.USER_FIELD_FORBIDDEN:
      return 403;
    case UserErrorCode.USER_NOT_FOUND:
      return 404;
    case UserErrorCode.EMAIL_TAKEN:
    case UserErrorCode.LAST_TENANT_ADMIN:
      return 409;
    default: {
      const unhandled: never = code;
      throw new Error(`No HTTP status for ${String(unhandled)}`);
    }
  }
}

export class UserError extends AppError {
  constructor(code: UserErrorCode, detail: string) {
    super(code, statusOf(code), detail);
  }
}

export const userNotFound = () => new UserError(UserErrorCode.USER_NOT_FOUND, 'User not found.');
