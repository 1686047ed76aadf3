/** Error codes shared by every module. Each feature module adds its own enum beside its own error class. */
export enum CommonErrorCode {
  BAD_REQUEST = 'BAD_REQUEST',
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  MALFORMED_JSON = 'MALFORMED_JSON',
  UNAUTHORIZED = 'UNAUTHORIZED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  ROUTE_NOT_FOUND = 'ROUTE_NOT_FOUND',
  METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED',
  CONFLICT = 'CONFLICT',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE',
  UNPROCESSABLE = 'UNPROCESSABLE',
  RATE_LIMITED = 'RATE_LIMITED',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_ERROR = 'INTERNAL_ERROR',
}

export interface FieldError {
  /** Dotted path of the offending field, e.g. `address.city` or `items.0.name`. */
  field: string;
  messages: string[];
}

/** Extra members a problem document may carry (RFC 9457 extension members). */
export interface ProblemExtensions {
  errors?: FieldError[];
  [key: string]: unknown;
}

/**
 * An expected failure with a stable machine-readable code. Each module has a
 * subclass with its own code enum and one exhaustive switch from code to HTTP
 * status; the global filter writes it as problem details.
 */
export abstract class AppError extends Error {
  protected constructor(
    readonly code: string,
    readonly status: number,
    detail: string,
    readonly extensions: ProblemExtensions = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export class CommonError extends AppError {
  constructor(code: CommonErrorCode, detail: string, extensions: ProblemExtensions = {}) {
    super(code, httpStatusOf(code), detail, extensions);
  }
}

export function httpStatusOf(code: CommonErrorCode): number {
  switch (code) {
    case CommonErrorCode.BAD_REQUEST:
    case CommonErrorCode.VALIDATION_FAILED:
    case CommonErrorCode.MALFORMED_JSON:
      return 400;
    case CommonErrorCode.UNAUTHORIZED:
      return 401;
    case CommonErrorCode.FORBIDDEN:
      return 403;
    case CommonErrorCode.NOT_FOUND:
    case CommonErrorCode.ROUTE_NOT_FOUND:
      return 404;
    case CommonErrorCode.METHOD_NOT_ALLOWED:
      return 405;
    case CommonErrorCode.CONFLICT:
      return 409;
    case CommonErrorCode.PAYLOAD_TOO_LARGE:
      return 413;
    case CommonErrorCode.UNSUPPORTED_MEDIA_TYPE:
      return 415;
    case CommonErrorCode.UNPROCESSABLE:
      return 422;
    case CommonErrorCode.RATE_LIMITED:
      return 429;
    case CommonErrorCode.SERVICE_UNAVAILABLE:
      return 503;
    case CommonErrorCode.INTERNAL_ERROR:
      return 500;
    default: {
      const unhandled: never = code;
      throw new Error(`No HTTP status for error code ${String(unhandled)}`);
    }
  }
}
