import FindMyWay from 'find-my-way';
import type { FastifyInstance, HTTPMethods } from 'fastify';

/**
 * Every route's path and methods, kept from Fastify's onRoute hook, so a known
 * path called with the wrong method can answer 405 with `Allow` instead of 404.
 */
export class MethodIndex {
  private readonly router = FindMyWay({ ignoreTrailingSlash: false });
  private readonly methods = new Set<HTTPMethods>();

  /** Must run before routes are registered. */
  static attach(fastify: FastifyInstance): MethodIndex {
    const index = new MethodIndex();
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat() as HTTPMethods[]) {
        index.methods.add(method);
        try {
          index.router.on(method as never, route.url, () => undefined);
        } catch {
          // A duplicate registration (Fastify refuses it itself).
        }
      }
    });
    return index;
  }

  /** The methods the path answers to (empty when the path is unknown). */
  allowed(path: string): string[] {
    return [...this.methods].filter((method) => this.router.find(method as never, path) !== null).sort();
  }
}
