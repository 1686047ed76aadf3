import type { Logger } from '@nestjs/common';

/**
 * A warning written at most once every `intervalMs` (10 s by default), so an
 * outage of a dependency that every request touches does not flood the log.
 */
export function throttledWarning(logger: Logger, intervalMs = 10_000): (message: string) => void {
  let last = 0;
  return (message) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    logger.warn(message);
  };
}
