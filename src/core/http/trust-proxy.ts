import type { TrustProxy } from '../../config/app-config.js';

/** Fastify's trust test for one hop of X-Forwarded-For: `hop` 0 is the socket, 1 the hop it forwarded, and so on. */
export type TrustHop = (address: string, hop: number) => boolean;

/**
 * Fastify's `trustProxy` for TRUST_PROXY. Given a bare hop count, Fastify trusts no hop
 * at all (so X-Forwarded-For would be ignored without a word, and every client behind
 * the load balancer would share its address); a count is therefore passed as the test
 * that trusts that many hops from the socket inward, the meaning TRUST_PROXY documents.
 * Addresses and ranges are passed as they are.
 */
export function fastifyTrustProxy(trust: TrustProxy): false | string[] | TrustHop {
  if (typeof trust !== 'number') return trust;
  return trust > 0 ? (_address, hop) => hop < trust : false;
}
