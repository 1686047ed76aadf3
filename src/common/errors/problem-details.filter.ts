import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem-details.js';

/** Writes every error as RFC 9457 problem details; unexpected ones are logged with their stack and never shown. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendProblem(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.logger);
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
