import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';

/** What a cached principal depends on; a change to any of them drops the entry. */
export interface PrincipalTags {
  tenantId?: string;
  userId?: string;
  apiKeyId?: string;
  platformAdminId?: string;
  sessionId?: string;
}

/**
 * "Who may do what changed": published after the change commits, applied by
 * every instance (locally at once, elsewhere through the event bus).
 * A field present in the change drops every entry tagged with the same value.
 */
export type PrincipalChange = Partial<Record<keyof PrincipalTags, string>>;

interface Entry<T> {
  value: T;
  tags: PrincipalTags;
  expiresAt: number;
}

/** A read taken before a lookup: storing its result is refused if anything changed meanwhile. */
export interface CacheTicket {
  readonly generation: number;
}

/**
 * Short-lived cache of resolved principals (API keys and JWT subjects), so an
 * authenticated request needs no database round trip on most requests. Entries
 * live at most PRINCIPAL_CACHE_TTL_MS, the backstop for a change whose event
 * was lost; changes normally drop entries at once through `invalidate`.
 */
@Injectable()
export class PrincipalCache<T = unknown> {
  private static readonly MAX_ENTRIES = 50_000;
  private readonly entries = new Map<string, Entry<T>>();
  private generation = 0;
  readonly ttlMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.ttlMs = config.auth.principalCacheTtlMs;
  }

  get(key: string, now = Date.now()): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Taken before resolving a principal from the database. */
  ticket(): CacheTicket {
    return { generation: this.generation };
  }

  /** Stores a resolved principal, unless a change was applied since `ticket` was taken (it may be stale). */
  set(key: string, value: T, tags: PrincipalTags, ticket: CacheTicket, now = Date.now()): void {
    if (ticket.generation !== this.generation || this.ttlMs === 0) return;
    if (this.entries.size >= PrincipalCache.MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, tags, expiresAt: now + this.ttlMs });
  }

  /** Drops every entry the change concerns. */
  invalidate(change: PrincipalChange): void {
    this.generation += 1;
    const fields = Object.entries(change).filter(([, v]) => v !== undefined) as [keyof PrincipalTags, string][];
    if (fields.length === 0) return;
    for (const [key, entry] of this.entries) {
      if (fields.some(([field, value]) => entry.tags[field] === value)) this.entries.delete(key);
    }
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
  }
}
