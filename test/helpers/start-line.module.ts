import { type CallHandler, type ExecutionContext, Injectable, Module, type NestInterceptor } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { defer, mergeMap, type Observable } from 'rxjs';

/** Requests with the same value meet at the start line; the header names how many to wait for. */
export const START_LINE = 'x-test-start-line';
export const START_LINE_SIZE = 'x-test-start-line-size';

/** A request that is still alone at the start line after this long goes on, so a test fails instead of hanging. */
const MAX_WAIT_MS = 5000;

/**
 * Holds requests that carry the same START_LINE value after authentication, until
 * START_LINE_SIZE of them have arrived, then lets them all go at once. A race between
 * requests is then decided inside the service (locks, constraints), not by which one
 * the event loop happened to authenticate first — on the embedded engine a whole
 * request can otherwise finish before the other one has passed the guard.
 */
@Injectable()
class StartLineInterceptor implements NestInterceptor {
  private readonly lines = new Map<string, { arrived: number; go: Promise<void>; release: () => void }>();

  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = execution.switchToHttp().getRequest<FastifyRequest>();
    const name = request.headers[START_LINE];
    if (typeof name !== 'string') return next.handle();
    const size = Number(request.headers[START_LINE_SIZE] ?? 2);
    return defer(() => this.arrive(name, size)).pipe(mergeMap(() => next.handle()));
  }

  private arrive(name: string, size: number): Promise<void> {
    let line = this.lines.get(name);
    if (!line) {
      let release!: () => void;
      const go = new Promise<void>((resolve) => (release = resolve));
      line = { arrived: 0, go, release };
      this.lines.set(name, line);
      const timer = setTimeout(() => line!.release(), MAX_WAIT_MS);
      void go.then(() => {
        clearTimeout(timer);
        this.lines.delete(name);
      });
    }
    line.arrived += 1;
    if (line.arrived >= size) line.release();
    return line.go;
  }
}

/** Mount with createTestApp(env, [StartLineModule]) and send `startLine(name, size)` headers. */
@Module({ providers: [{ provide: APP_INTERCEPTOR, useClass: StartLineInterceptor }] })
export class StartLineModule {}

export const startLine = (name: string, size = 2) => ({ [START_LINE]: name, [START_LINE_SIZE]: String(size) });
