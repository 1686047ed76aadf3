import { HttpException, HttpStatus } from '@nestjs/common';
import { AppError, CommonErrorCode, httpStatusOf, type ProblemExtensions } from './app-error.js';

type ErrorCode = CommonErrorCode;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDocument extends ProblemExtensions {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId?: string;
  instance?: string;
}

export interface MappedProblem {
  problem: Omit<ProblemDocument, 'requestId' | 'instance'>;
  /** True when the cause is not an expected client error and its stack must be logged. */
  unexpected: boolean;
}

const RETRY_AFTER_UNAVAILABLE_SECONDS = 5;

/** SQLSTATE classes and driver errors that mean the database cannot be reached or is going away. */
const UNAVAILABLE_SQLSTATES = /^(08|53|57P0[1-3])/;
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE']);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|The embedded database is closed|PGlite is closed|Redis is unavailable|Driver not Connected|Connection is not established/i;

function isUnavailable(exception: unknown): boolean {
  for (
    let e = exception as { code?: unknown; driverError?: unknown; cause?: unknown; message?: unknown } | undefined,
      i = 0;
    e && i < 4;
    i++
  ) {
    if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || UNAVAILABLE_SQLSTATES.test(e.code)))
      return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
    e = (e.driverError ?? e.cause) as typeof e;
  }
  return false;
}

const GENERIC_500 = 'An unexpected error occurred. The request id identifies it in the server logs.';

const codeForStatus: Record<number, ErrorCode> = {
  400: CommonErrorCode.BAD_REQUEST,
  401: CommonErrorCode.UNAUTHORIZED,
  403: CommonErrorCode.FORBIDDEN,
  404: CommonErrorCode.NOT_FOUND,
  405: CommonErrorCode.METHOD_NOT_ALLOWED,
  409: CommonErrorCode.CONFLICT,
  413: CommonErrorCode.PAYLOAD_TOO_LARGE,
  415: CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
  422: CommonErrorCode.UNPROCESSABLE,
  429: CommonErrorCode.RATE_LIMITED,
  503: CommonErrorCode.SERVICE_UNAVAILABLE,
};

/** Fastify's own request errors (body parsing, limits), recognised by their stable codes. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: CommonErrorCode.PAYLOAD_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: CommonErrorCode.BAD_REQUEST,
  FST_ERR_CTP_EMPTY_JSON_BODY: CommonErrorCode.MALFORMED_JSON,
  FST_ERR_CTP_INVALID_JSON_BODY: CommonErrorCode.MALFORMED_JSON,
};

const fastifyDetails: Partial<Record<ErrorCode, string>> = {
  [CommonErrorCode.MALFORMED_JSON]: 'The request body is not valid JSON.',
  [CommonErrorCode.PAYLOAD_TOO_LARGE]: 'The request body is larger than the server accepts.',
  [CommonErrorCode.UNSUPPORTED_MEDIA_TYPE]: 'The request content type is not supported; send application/json.',
};

function title(code: string): string {
  const words = code.toLowerCase().split('_').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function problemType(code: string): string {
  return `urn:atrium:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

function build(code: string, status: number, detail: string, extensions: ProblemExtensions = {}) {
  return { ...extensions, type: problemType(code), title: title(code), status, detail, code };
}

function httpExceptionDetail(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: string;
}

function isFastifyError(error: unknown): error is FastifyLikeError & { code: string } {
  const code = (error as FastifyLikeError | undefined)?.code;
  return typeof code === 'string' && code in fastifyCodes;
}

/** Maps anything thrown while handling a request to a problem document. */
export function toProblem(exception: unknown): MappedProblem {
  // Nest's Fastify adapter wraps Fastify's own errors in an HttpException; the cause keeps the precise code.
  if (exception instanceof HttpException && isFastifyError(exception.cause)) return toProblem(exception.cause);
  if (exception instanceof AppError) {
    return {
      problem: build(exception.code, exception.status, exception.message, exception.extensions),
      unexpected: false,
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code =
      codeForStatus[status] ?? (status >= 500 ? CommonErrorCode.INTERNAL_ERROR : CommonErrorCode.BAD_REQUEST);
    const unexpected = status >= 500 && status !== HttpStatus.SERVICE_UNAVAILABLE;
    const detail = unexpected ? GENERIC_500 : httpExceptionDetail(exception);
    return { problem: build(code, status, detail), unexpected };
  }
  const sqlState = (exception as { driverError?: { code?: unknown } } | undefined)?.driverError?.code;
  // A unique constraint that a concurrent request won first: the same answer as the service's own check.
  if (sqlState === '23505') {
    return {
      problem: build(CommonErrorCode.CONFLICT, 409, 'A resource with these values already exists.'),
      unexpected: false,
    };
  }
  // A value the database refuses (out of range, malformed, NUL): validation should have caught it; still a 400.
  if (typeof sqlState === 'string' && sqlState.startsWith('22')) {
    return {
      problem: build(CommonErrorCode.BAD_REQUEST, 400, 'A value in the request is malformed or out of range.'),
      unexpected: true,
    };
  }
  if (isUnavailable(exception)) {
    return {
      problem: build(CommonErrorCode.SERVICE_UNAVAILABLE, 503, 'A backing service is unavailable; retry shortly.', {
        retryAfterSeconds: RETRY_AFTER_UNAVAILABLE_SECONDS,
      }),
      unexpected: false,
    };
  }
  const err = (exception ?? {}) as FastifyLikeError;
  if (isFastifyError(err)) {
    const code = fastifyCodes[err.code];
    return {
      problem: build(code, httpStatusOf(code), fastifyDetails[code] ?? err.message ?? title(code)),
      unexpected: false,
    };
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    const code = codeForStatus[err.statusCode] ?? CommonErrorCode.BAD_REQUEST;
    return { problem: build(code, err.statusCode, err.message ?? title(code)), unexpected: false };
  }
  return { problem: build(CommonErrorCode.INTERNAL_ERROR, 500, GENERIC_500), unexpected: true };
}
