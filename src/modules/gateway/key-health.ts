import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '../../core/ports/clock.js';
import { ProviderKeysRepository } from './gateway.repository.js';
import { GatewayDirectory, type PoolKey } from './gateway-directory.js';

const COOL_BASE_MS = 1000;
const COOL_MAX_MS = 5 * 60_000;
const RETRY_AFTER_MAX_MS = 60 * 60_000;
const FLUSH_INTERVAL_MS = 2000;
const PROBE_INTERVAL_MS = 30_000;
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Exponential backoff with jitter (half the step fixed, half random; at most
 * five minutes), and at least what the upstream's Retry-After asks (up to an hour).
 */
export function coolDownMs(
  consecutiveFailures: number,
  retryAfterMs: number | undefined,
  random = Math.random,
): number {
  const ceiling = Math.min(COOL_MAX_MS, COOL_BASE_MS * 2 ** Math.min(consecutiveFailures, 16));
  const backoff = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(backoff, Math.min(retryAfterMs ?? 0, RETRY_AFTER_MAX_MS));
}

/**
 * The health of pool keys. A 429, 5xx or timeout cools a key down (backoff
 * with jitter, honouring Retry-After); a 401/403 disables it until a
 * background probe succeeds. Both are written to the key's row at once, so
 * every instance skips the key from its next directory refresh (within a
 * second); the local snapshot skips it immediately. Uses are counted in
 * memory and written every few seconds.
 */
@Injectable()
export class KeyHealth implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('KeyPool');
  private readonly uses = new Map<string, { requests: number; failures: number; at: Date }>();
  private readonly failuresInARow = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly keys: ProviderKeysRepository,
    private readonly directory: GatewayDirectory,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.timers = [
      setInterval(() => void this.flush(), FLUSH_INTERVAL_MS),
      setInterval(() => void this.probeDisabled(), PROBE_INTERVAL_MS),
    ];
    for (const timer of this.timers) timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.flush();
  }

  succeeded(key: PoolKey): void {
    this.count(key.id, false);
    if (this.failuresInARow.delete(key.id)) void this.write(() => this.keys.markHealthy(key.id));
  }

  /** A retryable failure: the key cools down. */
  cool(key: PoolKey, error: string, retryAfterMs?: number): void {
    this.count(key.id, true);
    const inARow = (this.failuresInARow.get(key.id) ?? 0) + 1;
    this.failuresInARow.set(key.id, inARow);
    key.coolingUntil = new Date(this.clock.now().getTime() + coolDownMs(inARow - 1, retryAfterMs));
    this.logger.warn(`Key …${key.secret.slice(-4)} cools down until ${key.coolingUntil.toISOString()}: ${error}`);
    void this.write(() => this.keys.markCooling(key.id, key.coolingUntil!, error));
  }

  /** Refused by the upstream (401/403): the key is disabled until a probe succeeds. */
  disable(key: PoolKey, error: string): void {
    this.count(key.id, true);
    key.state = 'disabled';
    this.logger.warn(`Key …${key.secret.slice(-4)} is disabled: ${error}`);
    void this.write(() => this.keys.markDisabled(key.id, error));
  }

  /** Tries every disabled key of enabled upstream providers (listing models); re-enables those that answer. */
  async probeDisabled(): Promise<void> {
    try {
      const directory = await this.directory.current();
      let healed = 0;
      for (const [providerId, pool] of directory.keys) {
        const provider = directory.providers.get(providerId);
        if (!provider || provider.kind === 'local') continue;
        for (const key of pool.filter((k) => k.state === 'disabled')) {
          try {
            if (provider.kind === 'anthropic') {
              await this.directory.anthropicOf(provider, key).models.list({}, { timeout: PROBE_TIMEOUT_MS });
            } else {
              await this.directory.clientOf(provider, key).models.list({ timeout: PROBE_TIMEOUT_MS });
            }
          } catch {
            continue;
          }
          key.state = 'active';
          key.coolingUntil = null;
          this.failuresInARow.delete(key.id);
          await this.keys.markHealthy(key.id, true);
          healed += 1;
          this.logger.log(`Key …${key.secret.slice(-4)} answers again and is re-enabled`);
        }
      }
      if (healed > 0) this.directory.changed();
    } catch (err) {
      this.logger.warn(`Probing disabled keys failed: ${(err as Error).message}`);
    }
  }

  /** Writes the counted uses (requests, failures, last use). */
  async flush(): Promise<void> {
    if (this.uses.size === 0) return;
    const batch = [...this.uses];
    this.uses.clear();
    await this.write(() => this.keys.addUses(batch.map(([id, use]) => ({ id, ...use }))));
  }

  private count(id: string, failed: boolean): void {
    const use = this.uses.get(id) ?? { requests: 0, failures: 0, at: this.clock.now() };
    use.requests += 1;
    if (failed) use.failures += 1;
    use.at = this.clock.now();
    this.uses.set(id, use);
  }

  private async write(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.logger.warn(`Recording key health failed: ${(err as Error).message}`);
    }
  }
}
