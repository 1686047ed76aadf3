import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from './principal.js';

/** What one request (or background job) carries through every await. */
export interface ContextStore {
  requestId?: string;
  principal?: Principal;
  /** The tenant every tenant-scoped query acts in. */
  tenantId?: string;
  /** The unit of work's open transaction (see UnitOfWork); opaque here. */
  transaction?: unknown;
}

const storage = new AsyncLocalStorage<ContextStore>();

/**
 * The request context on Node's AsyncLocalStorage: entered once per request by
 * a Fastify hook and once per background job, read by the request context, the
 * unit of work and the logger. `fork` runs a function in a copy of the current
 * store with some fields changed, so the change never leaks to the caller.
 */
export const AsyncContext = {
  run<T>(store: ContextStore, fn: () => T): T {
    return storage.run(store, fn);
  },

  current(): ContextStore | undefined {
    return storage.getStore();
  },

  fork<T>(patch: Partial<ContextStore>, fn: () => T): T {
    return storage.run({ ...storage.getStore(), ...patch }, fn);
  },
};
