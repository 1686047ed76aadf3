// The baseline of `npm run bench:pipeline`: a bare NestJS application on Fastify with one
// GET /hello route and nothing else (no middleware, guards, pipes, filters or logging).
// With `features`, the same app also has the cheapest form of the per-request features Atrium keeps on
// every route — a request id (generated, answered in X-Request-Id), an AsyncLocalStorage request context
// around the handler, a JSON access-log line (written 4 KB at a time) and a per-route request count and
// duration — so the bench shows how close to the bare app any pipeline with those features can come.
// Usage: node scripts/bench-hello.mjs <port> [features]
import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { setInterval } from 'node:timers';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

class HelloController {
  hello() {
    return { hello: 'world' };
  }
}
Controller()(HelloController);
Get('hello')(HelloController.prototype, 'hello', Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello'));

class HelloModule {}
Module({ controllers: [HelloController] })(HelloModule);

const features = process.argv[3] === 'features';
const adapter = new FastifyAdapter(features ? { requestIdHeader: false, genReqId: () => randomUUID() } : {});
if (features) {
  const fastify = adapter.getInstance();
  const context = new AsyncLocalStorage();
  fastify.addHook('preHandler', (request, _reply, done) => context.run({ requestId: request.id }, done));
  fastify.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  let lines = [];
  let chars = 0;
  const flush = () => {
    if (lines.length > 0) process.stdout.write(lines.join(''));
    lines = [];
    chars = 0;
  };
  setInterval(flush, 200).unref();
  const requests = new Map();
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    const status = reply.statusCode;
    const durationMs = reply.elapsedTime;
    const key = `${request.method} ${route} ${status}`;
    const seen = requests.get(key) ?? { count: 0, seconds: 0 };
    seen.count += 1;
    seen.seconds += durationMs / 1000;
    requests.set(key, seen);
    const line = `${JSON.stringify({ level: 'info', timestamp: new Date().toISOString(), message: key, requestId: request.id, method: request.method, route, status, durationMs, ip: request.ip })}\n`;
    lines.push(line);
    chars += line.length;
    if (chars >= 4096) flush();
    done();
  });
}
const app = await NestFactory.create(HelloModule, adapter, { logger: false });
await app.listen({ port: Number(process.argv[2] ?? 3996), host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
