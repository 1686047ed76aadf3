import { type ArgumentsHost, Catch, type ExceptionFilter, Logger, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MethodIndex } from '../http/method-index.js';
import { CommonError, CommonErrorCode } from './app-error.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem-details.js';

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
    sendProblem(exception, request, reply, this.logger);
  }
}

export function sendProblem(exception: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger): void {
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
    .send(JSON.stringify({ ...problem, requestId: request.id, instance: request.url.split('?')[0] }));
}
