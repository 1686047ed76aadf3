import { Injectable } from '@nestjs/common';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/**
 * Short-lived cache of resolved API-key principals, so the key path needs no
 * database round trip on most requests. Entries live at most TTL_MS, which
 * bounds how long a change made on another instance can go unseen; changes made
 * on this instance (revocation, suspension, disabling, role change) clear it at once.
 */
@Injectable()
export class PrincipalCache<T = unknown> {
  static readonly TTL_MS = 2000;
  private static readonly MAX_ENTRIES = 50_000;
  private readonly entries = new Map<string, Entry<T>>();

  get(key: string, now = Date.now()): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, now = Date.now()): void {
    if (this.entries.size >= PrincipalCache.MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, expiresAt: now + PrincipalCache.TTL_MS });
  }

  /** Forget everything: called whenever who-may-do-what changes on this instance. */
  clear(): void {
    this.entries.clear();
  }
}
