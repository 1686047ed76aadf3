import { randomUUID } from 'node:crypto';
import { Logger, type LoggerService, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { AsyncContext } from './core/context/async-context.js';
import { CommonError, CommonErrorCode } from './core/errors/app-error.js';
import { ProblemDetailsFilter, sendProblem } from './core/errors/problem-details.filter.js';
import { containsNul, registerJsonBodyParser } from './core/http/json-body.js';
import { registerUploads } from './core/http/uploads.js';
import { MethodIndex } from './core/http/method-index.js';
import { fastifyTrustProxy } from './core/http/trust-proxy.js';
import { createValidationPipe } from './core/http/validation.pipe.js';
import { AppLogger } from './core/logging/logger.js';
import { MetricsService } from './core/metrics/metrics.service.js';
import { setupSwagger } from './openapi.js';

export const API_PREFIX = 'api/v1';

/** An incoming X-Request-Id is kept only when it is short and made of safe characters. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(req: { headers: Record<string, string | string[] | undefined> }): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

const frameworkErrorLogger = new Logger('Errors');

export interface CreateAppOptions extends AppModuleOptions {
  logger: LoggerService | false;
}

/** Builds the configured application without listening; main.ts and the tests share it. */
export async function createApp({ logger, ...moduleOptions }: CreateAppOptions): Promise<NestFastifyApplication> {
  const { config } = moduleOptions;
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    logger: false,
    requestIdHeader: false,
    genReqId: requestIdFrom,
    // The client IP (login limits, logs, usage records) comes from X-Forwarded-For only through trusted hops.
    trustProxy: fastifyTrustProxy(config.http.trustProxy),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // No Nest middleware is used: the request context and the rest are Fastify hooks.
    skipMiddie: true,
    // The router refuses a malformed URL (400) or an over-long path parameter (414) before any hook or
    // filter runs; those answers are problem details too.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      reply.header('x-request-id', request.id);
      sendProblem(error, request, reply, frameworkErrorLogger);
    },
  });
  const fastify = adapter.getInstance();
  const methods = MethodIndex.attach(fastify);
  registerJsonBodyParser(fastify);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(moduleOptions), adapter, {
    logger,
    bufferLogs: false,
    abortOnError: false,
    // Bodies are parsed by registerJsonBodyParser alone: JSON, inspected before parsing.
    bodyParser: false,
  });

  await registerUploads(fastify);
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter(methods));
  registerHttpHooks(app, logger instanceof AppLogger ? logger.pino.child({ context: 'HTTP' }) : undefined);
  await setupSwagger(app);
  return app;
}

/**
 * The per-request pipeline around Nest: request id header, request context,
 * hostile-input checks, access log and metrics. Callback-style hooks only: an
 * async hook costs a promise (and its async-hook bookkeeping) per request.
 */
function registerHttpHooks(app: NestFastifyApplication, accessLog: PinoLogger | undefined): void {
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsService);

  // While draining, tell keep-alive clients to disconnect so closing does not wait for their idle sockets.
  let draining = false;
  fastify.addHook('preClose', (done: () => void) => {
    draining = true;
    done();
  });

  // One hook for the rest (each hook stage costs a runner per request):
  // - PostgreSQL refuses NUL in text, so a NUL in the query or path is a client error, caught before any handler;
  // - the request context (AsyncLocalStorage) is entered once the body is parsed, so guards, pipes,
  //   handlers and filters all run inside it; body-parsing callbacks would otherwise lose it.
  fastify.addHook('preHandler', (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    if (containsNul(request.query) || containsNul(request.params)) {
      done(
        new CommonError(CommonErrorCode.BAD_REQUEST, 'The URL contains a NUL character, which no parameter accepts.'),
      );
      return;
    }
    AsyncContext.run({ requestId: request.id }, done);
  });

  // Every answer (errors and 404s included) carries its request id; in-flight answers during the
  // drain close their connection (idle ones are closed by Fastify). No onRequest hook: one stage fewer.
  fastify.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done) => {
    reply.header('x-request-id', request.id);
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });

  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    const status = reply.statusCode;
    const durationMs = Math.round(reply.elapsedTime * 100) / 100;
    metrics.observeRequest(request.method, route, status, durationMs);
    if (accessLog?.isLevelEnabled('info')) {
      const principal = request.principal;
      accessLog.info({
        message: `${request.method} ${route} ${status} ${durationMs}ms`,
        requestId: request.id,
        tenantId: principal?.homeTenantId,
        principal: principal && (principal.kind === 'tenant_app' ? 'tenant_app' : principal.subject),
        keyPrefix: principal?.keyPrefix,
        method: request.method,
        route,
        status,
        durationMs,
        ip: request.ip,
      });
    }
    done();
  });
}
