import { type ArgumentsHost, Catch, type ExceptionFilter, Logger, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MethodIndex } from '../http/method-index.js';
import { AddRouteConfig } from '../http/route-config.js';
import { CommonError, CommonErrorCode } from './app-error.js';
import { type MappedProblem, PROBLEM_CONTENT_TYPE, toProblem } from './problem-details.js';

/**
 * Writes every error as RFC 9457 problem details; unexpected ones are logged
 * with their stack and never shown. A known path called with a method it does
 * not answer to gets 405 with `Allow`.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly methods?: MethodIndex) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (exception instanceof NotFoundException && !request.routeOptions?.url && this.methods) {
      const allowed = this.methods.allowed(request.url.split('?')[0]);
      if (allowed.length > 0) {
        reply.header('allow', allowed.join(', '));
        exception = new CommonError(
          CommonErrorCode.METHOD_NOT_ALLOWED,
          `${request.method} is not allowed here; use ${allowed.join(', ')}.`,
        );
      }
    }
    const config = request.routeOptions?.config as unknown as Record<string, unknown> | undefined;
    const openAi = config?.[OPENAI_ERRORS] === true;
    sendProblem(exception, request, reply, this.logger, openAi ? openAiError : undefined);
  }
}

/** The route config member that marks routes whose problems also carry OpenAI's `error` object. */
const OPENAI_ERRORS = 'openAiErrors';

/**
 * On an OpenAI-compatible route, problem details also carry OpenAI's
 * `error: {message, type, code}`, so OpenAI SDKs show the message; also for
 * errors raised before the handler (authentication, body parsing).
 */
export const OpenAiErrors = () => AddRouteConfig({ [OPENAI_ERRORS]: true });

/** OpenAI's error `type` for a status. */
function openAiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'insufficient_quota';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function openAiError(problem: MappedProblem['problem']): Record<string, unknown> {
  const { detail, status, code } = problem as { detail: string; status: number; code: string };
  return { error: { message: detail, type: openAiType(status), code: code.toLowerCase(), param: null } };
}

/**
 * Writes `exception` as a problem document; `extend` may add members derived
 * from the problem (the OpenAI-compatible routes add OpenAI's `error` object).
 */
export function sendProblem(
  exception: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
  extend?: (problem: MappedProblem['problem']) => Record<string, unknown>,
): void {
  const { problem, unexpected } = toProblem(exception);
  if (unexpected) {
    const err = exception instanceof Error ? exception : new Error(String(exception));
    logger.error({ message: `Unhandled error: ${err.message}`, stack: err.stack, requestId: request.id });
  }
  if (reply.sent) return;
  const retryAfter = problem.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  reply
    .status(problem.status as number)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send(
      JSON.stringify({ ...problem, ...extend?.(problem), requestId: request.id, instance: request.url.split('?')[0] }),
    );
}
