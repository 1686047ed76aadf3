import { Injectable, Logger } from '@nestjs/common';
import { throttledWarning } from '../../core/logging/throttled-warning.js';
import { Clock } from '../../core/ports/clock.js';
import { SecretBox } from '../../core/ports/secret-box.js';
import type Anthropic from '@anthropic-ai/sdk';
import type { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { ANTHROPIC_BASE_URL, anthropicClient } from './anthropic/anthropic-chat.js';
import { GEMINI_NATIVE_BASE_URL, geminiClient } from './gemini/gemini-media.js';
import type { KeyState, ModelRoute, Provider, Task } from './entities/gateway.entity.js';
import { ModelRoutesRepository, ProviderKeysRepository, ProvidersRepository } from './gateway.repository.js';

/** A provider's API root: its own, or its kind's (Gemini's is the root of its native API). */
export function rootOf(provider: Provider): string {
  if (provider.baseUrl) return provider.baseUrl.replace(/\/+$/, '');
  if (provider.kind === 'gemini') return GEMINI_NATIVE_BASE_URL;
  if (provider.kind === 'anthropic') return ANTHROPIC_BASE_URL;
  return 'https://api.openai.com/v1';
}

/** A provider's OpenAI-compatible API root (for Gemini, the OpenAI endpoint under its root). */
export function baseUrlOf(provider: Provider): string {
  return provider.kind === 'gemini' ? `${rootOf(provider)}/v1beta/openai` : rootOf(provider);
}

/** How long a snapshot of providers, keys and routes is used before it is read again: pool state set by another instance is seen within it. */
export const DIRECTORY_REFRESH_MS = 1000;

/** A key of a pool, opened, with the health the pool skips it by. */
export interface PoolKey {
  id: string;
  providerId: string;
  secret: string;
  state: KeyState;
  coolingUntil: Date | null;
}

export interface Directory {
  providers: Map<string, Provider>;
  keys: Map<string, PoolKey[]>;
  routes: Map<string, ModelRoute>;
  byTask: Map<Task, ModelRoute[]>;
}

/**
 * What the gateway routes by — enabled providers, their key pools and the
 * model routes — read from the database at most once a second per instance
 * (at once after a change made here), so a call needs no query to be routed.
 * Key health written by any instance is therefore seen by every instance
 * within DIRECTORY_REFRESH_MS.
 */
@Injectable()
export class GatewayDirectory {
  private loaded?: Promise<Directory>;
  private loadedAt = 0;
  /** Opened secrets by sealed value: a refresh does not decrypt again. */
  private readonly opened = new Map<string, string>();
  /** Round-robin position per provider. */
  private readonly turns = new Map<string, number>();
  private readonly warn = throttledWarning(new Logger('Gateway'));
  private readonly clients = new Map<string, unknown>();

  constructor(
    private readonly providers: ProvidersRepository,
    private readonly keys: ProviderKeysRepository,
    private readonly routes: ModelRoutesRepository,
    private readonly secrets: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** The OpenAI client of a pool key at its provider's OpenAI-compatible root (one per key and root, kept). */
  clientOf(provider: Provider, key: PoolKey): OpenAI {
    const baseURL = baseUrlOf(provider);
    return this.kept(`openai|${key.id}|${baseURL}`, () => new OpenAI({ apiKey: key.secret, baseURL, maxRetries: 0 }));
  }

  /** The Anthropic client of a pool key (kept like the OpenAI ones). */
  anthropicOf(provider: Provider, key: PoolKey): Anthropic {
    const root = rootOf(provider);
    return this.kept(`anthropic|${key.id}|${root}`, () => anthropicClient(key.secret, root));
  }

  /** The Gemini-native client of a pool key (kept like the OpenAI ones). */
  geminiOf(provider: Provider, key: PoolKey): GoogleGenAI {
    const root = rootOf(provider);
    return this.kept(`gemini|${key.id}|${root}`, () => geminiClient(key.secret, root));
  }

  private kept<C>(id: string, create: () => C): C {
    let client = this.clients.get(id) as C | undefined;
    if (!client) {
      client = create();
      this.clients.set(id, client);
    }
    return client;
  }

  /** Forgets the snapshot: the next call reads the database. */
  changed(): void {
    this.loaded = undefined;
  }

  current(): Promise<Directory> {
    const now = this.clock.now().getTime();
    if (!this.loaded || now - this.loadedAt >= DIRECTORY_REFRESH_MS) {
      this.loadedAt = now;
      const loading = this.load();
      // A failed read is not kept: the next call tries again.
      loading.catch(() => {
        if (this.loaded === loading) this.loaded = undefined;
      });
      this.loaded = loading;
    }
    return this.loaded;
  }

  /**
   * The provider's usable keys in round-robin order, starting after the one
   * the previous call started with: active keys not cooling down.
   */
  rotation(directory: Directory, providerId: string): PoolKey[] {
    const now = this.clock.now();
    const healthy = (directory.keys.get(providerId) ?? []).filter(
      (k) => k.state === 'active' && (k.coolingUntil === null || k.coolingUntil <= now),
    );
    if (healthy.length === 0) return [];
    const turn = this.turns.get(providerId) ?? 0;
    this.turns.set(providerId, turn + 1);
    const start = turn % healthy.length;
    return [...healthy.slice(start), ...healthy.slice(0, start)];
  }

  private async load(): Promise<Directory> {
    const [providers, keys, routes] = await Promise.all([
      this.providers.list(),
      this.keys.listEnabled(),
      this.routes.list(),
    ]);
    const enabled = new Map(providers.filter((p) => p.enabled).map((p) => [p.id, p]));
    const pools = new Map<string, PoolKey[]>();
    const seen = new Set<string>();
    for (const key of keys) {
      let secret = this.opened.get(key.sealedKey);
      if (secret === undefined) {
        try {
          secret = this.secrets.open(key.sealedKey);
        } catch (err) {
          // Sealed under another SECRETS_KEY (or altered): this key is left out, the rest of the pool serves.
          this.warn(`Provider key ${key.id} cannot be opened and is skipped: ${(err as Error).message}`);
          continue;
        }
        this.opened.set(key.sealedKey, secret);
      }
      seen.add(key.sealedKey);
      const pool = pools.get(key.providerId) ?? [];
      pool.push({
        id: key.id,
        providerId: key.providerId,
        secret,
        state: key.state,
        coolingUntil: key.coolingUntil ? new Date(key.coolingUntil) : null,
      });
      pools.set(key.providerId, pool);
    }
    for (const sealed of this.opened.keys()) if (!seen.has(sealed)) this.opened.delete(sealed);
    const byTask = new Map<Task, ModelRoute[]>();
    for (const route of routes) byTask.set(route.task, [...(byTask.get(route.task) ?? []), route]);
    return { providers: enabled, keys: pools, routes: new Map(routes.map((r) => [r.alias, r])), byTask };
  }
}
