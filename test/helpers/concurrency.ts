import { setTimeout as sleep } from 'node:timers/promises';

/** How many times each race is run: a race lost once in ten rounds is still caught. */
export const ROUNDS = 10;

/**
 * A test that runs thousands of requests is CPU-bound: on a busy machine (the embedded
 * engine shares the test's own thread) it needs longer than Jest's default to finish.
 */
export const RACE_TEST_TIMEOUT_MS = 180_000;

/** Runs `round` ROUNDS times (or `count`), one after another, passing the round's number. */
export async function rounds(round: (n: number) => Promise<void>, count = ROUNDS): Promise<void> {
  for (let n = 0; n < count; n++) await round(n);
}

/** `count` copies of `fn` started together (the racing requests of one round). */
export function parallel<T>(count: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => fn(i)));
}

/**
 * Polls `probe` until it returns something other than undefined and returns that, or
 * throws after `withinMs` with `what` in the message. For effects that are eventual by
 * design (another instance's cache, another session's lock wait), not for speed checks.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { withinMs = 5000, everyMs = 10 } = {},
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Not within ${withinMs} ms: ${what}`);
    await sleep(everyMs);
  }
}
