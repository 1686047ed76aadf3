import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { KnowledgeBasesRepository } from './knowledge.repository.js';

const FLUSH_INTERVAL_MS = 1000;

/**
 * Searches per knowledge base, counted in memory and written once a second
 * (and at shutdown) in one statement per tenant, so a search itself writes
 * nothing. Statistics add what this instance has not written yet; other
 * instances' searches show within the interval. A crash loses at most the
 * last interval's counts.
 */
@Injectable()
export class SearchCounts implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Knowledge');
  /** tenant → base → searches not yet written (or being written). */
  private pending = new Map<string, Map<string, number>>();
  private writing = new Map<string, Map<string, number>>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly bases: KnowledgeBasesRepository,
    private readonly context: RequestContext,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** One search of the current tenant over `baseIds`. */
  count(baseIds: readonly string[]): void {
    this.keep(
      this.context.tenantId,
      baseIds.map((id) => [id, 1]),
    );
  }

  /** Searches of the current tenant's base `baseId` this instance has not written yet. */
  unwritten(baseId: string): number {
    const tenantId = this.context.tenantId;
    return (this.pending.get(tenantId)?.get(baseId) ?? 0) + (this.writing.get(tenantId)?.get(baseId) ?? 0);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0 || this.writing.size > 0) return;
    [this.writing, this.pending] = [this.pending, new Map()];
    try {
      for (const [tenantId, counts] of this.writing) {
        try {
          await this.context.runInTenantContext(tenantId, () => this.bases.addSearches(counts), 'search-counts');
        } catch (err) {
          // Kept for the next flush (a base deleted meanwhile simply matches no row then).
          this.keep(tenantId, counts);
          this.logger.warn(`Recording searches failed: ${(err as Error).message}`);
        }
      }
    } finally {
      this.writing = new Map();
    }
  }

  /** Adds searches (base id, count) of `tenantId` to those not yet written. */
  private keep(tenantId: string, searches: Iterable<[string, number]>): void {
    const counts = this.pending.get(tenantId) ?? new Map<string, number>();
    for (const [id, n] of searches) counts.set(id, (counts.get(id) ?? 0) + n);
    this.pending.set(tenantId, counts);
  }
}
