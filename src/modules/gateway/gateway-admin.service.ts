import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { SecretBox } from '../../core/ports/secret-box.js';
import type {
  CreateModelRouteDto,
  CreateProviderDto,
  RouteTargetDto,
  UpdateModelRouteDto,
  UpdateProviderDto,
} from './dto/admin.dto.js';
import type { ModelRoute, Provider, ProviderKey, ProviderKind, Task } from './entities/gateway.entity.js';
import { GatewayError, GatewayErrorCode, providerNotFound, routeNotFound } from './gateway.errors.js';
import { ModelRoutesRepository, ProviderKeysRepository, ProvidersRepository } from './gateway.repository.js';
import { GatewayDirectory } from './gateway-directory.js';
import { LOCAL_MODELS } from './local/local-models.js';

/** The built-in provider's name, and the routes it comes with. */
export const LOCAL_PROVIDER = 'local';
const LOCAL_ROUTES: { alias: string; task: Task }[] = [
  { alias: LOCAL_MODELS.chat, task: 'chat' },
  { alias: LOCAL_MODELS.embedding, task: 'embedding' },
  { alias: LOCAL_MODELS.image, task: 'image' },
  { alias: LOCAL_MODELS.video, task: 'video' },
];

export const fingerprintOf = (key: string) => createHash('sha256').update(key).digest('hex');

/**
 * Super admins' side of the gateway: providers and their key pools, model
 * routes and prices. Keys are sealed before they are stored and never leave
 * the server. At start the pools named in the environment (OPENAI_API_KEYS,
 * GEMINI_API_KEYS) are applied, and outside production the built-in `local`
 * provider is set up when no other provider is.
 */
@Injectable()
export class GatewayAdminService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Gateway');

  constructor(
    private readonly providers: ProvidersRepository,
    private readonly keys: ProviderKeysRepository,
    private readonly routes: ModelRoutesRepository,
    private readonly secrets: SecretBox,
    private readonly directory: GatewayDirectory,
    private readonly uow: UnitOfWork,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const pool of this.config.gateway.pools) await this.applyPool(pool.kind, pool.baseUrl, pool.keys);
    if (!this.config.isProduction) await this.ensureLocal();
  }

  // ---- providers -------------------------------------------------------------

  async listProviders(): Promise<{ provider: Provider; keys: number }[]> {
    const providers = await this.providers.list();
    return Promise.all(providers.map(async (provider) => ({ provider, keys: await this.keys.countOf(provider.id) })));
  }

  async provider(id: string): Promise<{ provider: Provider; keys: number }> {
    const provider = await this.providers.findById(id);
    if (!provider) throw providerNotFound();
    return { provider, keys: await this.keys.countOf(id) };
  }

  async createProvider(input: CreateProviderDto): Promise<{ provider: Provider; keys: number }> {
    await this.assertNameFree(input.name);
    const provider = await this.providers.create({
      name: input.name,
      kind: input.kind,
      baseUrl: input.baseUrl ?? null,
      enabled: input.enabled ?? true,
    });
    this.directory.changed();
    return { provider, keys: 0 };
  }

  async updateProvider(id: string, patch: UpdateProviderDto): Promise<{ provider: Provider; keys: number }> {
    const { provider } = await this.provider(id);
    if (patch.name !== undefined && patch.name !== provider.name) await this.assertNameFree(patch.name);
    await this.providers.update(id, patch);
    this.directory.changed();
    return this.provider(id);
  }

  /** Deletes a provider and its keys; refused while a model route targets it. */
  async deleteProvider(id: string): Promise<void> {
    await this.provider(id);
    const using = await this.routes.usingProvider(id);
    if (using.length > 0) {
      throw new GatewayError(
        GatewayErrorCode.PROVIDER_IN_USE,
        `Model routes target this provider: ${using.join(', ')}.`,
        {
          routes: using,
        },
      );
    }
    await this.providers.delete(id);
    this.directory.changed();
  }

  async listKeys(providerId: string): Promise<ProviderKey[]> {
    await this.provider(providerId);
    return this.keys.listOf(providerId);
  }

  async addKey(providerId: string, key: string): Promise<ProviderKey> {
    const { provider } = await this.provider(providerId);
    if (provider.kind === 'local') {
      throw new GatewayError(GatewayErrorCode.PROVIDER_KEYLESS, 'The local provider takes no keys.');
    }
    const added = await this.keys.add(this.sealed(providerId, key));
    if (!added) throw new GatewayError(GatewayErrorCode.PROVIDER_KEY_EXISTS, 'The provider has this key already.');
    this.directory.changed();
    return added;
  }

  async deleteKey(providerId: string, keyId: string): Promise<void> {
    await this.provider(providerId);
    if (!(await this.keys.delete(providerId, keyId))) {
      throw new GatewayError(GatewayErrorCode.PROVIDER_KEY_NOT_FOUND, 'Provider key not found.');
    }
    this.directory.changed();
  }

  // ---- model routes ------------------------------------------------------------

  listRoutes(): Promise<ModelRoute[]> {
    return this.routes.list();
  }

  async route(id: string): Promise<ModelRoute> {
    const route = await this.routes.findById(id);
    if (!route) throw routeNotFound();
    return route;
  }

  async createRoute(input: CreateModelRouteDto): Promise<ModelRoute> {
    await this.assertTargets(input.targets);
    if (await this.routes.findByAlias(input.alias)) {
      throw new GatewayError(GatewayErrorCode.MODEL_ALIAS_TAKEN, `The model alias ${input.alias} is taken.`);
    }
    const route = await this.routes.create({
      alias: input.alias,
      task: input.task,
      tiers: input.tiers ?? [],
      defaultFor: input.defaultFor ?? [],
      targets: input.targets.map((t) => ({ providerId: t.providerId, model: t.model })),
      inputPerMTokMicros: input.inputPerMTokMicros ?? 0,
      outputPerMTokMicros: input.outputPerMTokMicros ?? 0,
      perImageMicros: input.perImageMicros ?? 0,
      perVideoSecondMicros: input.perVideoSecondMicros ?? 0,
    });
    this.directory.changed();
    return route;
  }

  async updateRoute(id: string, patch: UpdateModelRouteDto): Promise<ModelRoute> {
    await this.route(id);
    if (patch.targets) await this.assertTargets(patch.targets);
    await this.routes.update(id, {
      ...patch,
      ...(patch.targets && { targets: patch.targets.map((t) => ({ providerId: t.providerId, model: t.model })) }),
    });
    this.directory.changed();
    return this.route(id);
  }

  async deleteRoute(id: string): Promise<void> {
    await this.route(id);
    await this.routes.delete(id);
    this.directory.changed();
  }

  // ---- start-up --------------------------------------------------------------

  /** A pool from the environment: the provider of that kind (created if missing) gets every key it lacks. */
  private async applyPool(kind: ProviderKind, baseUrl: string | undefined, keys: string[]): Promise<void> {
    await this.uow.run(async () => {
      await this.providers.lockSetUp();
      let provider = await this.providers.findByName(kind);
      if (!provider)
        provider = await this.providers.create({ name: kind, kind, baseUrl: baseUrl ?? null, enabled: true });
      else if (baseUrl !== undefined && provider.baseUrl !== baseUrl)
        await this.providers.update(provider.id, { baseUrl });
      let added = 0;
      for (const key of keys) {
        const row = await this.keys.add(this.sealed(provider.id, key));
        if (row) added += 1;
      }
      this.logger.log(`Provider ${kind}: ${keys.length} key(s) from the environment, ${added} new`);
    });
    this.directory.changed();
  }

  /**
   * The built-in local provider and its routes, when no other provider is
   * set up: a fresh start runs every flow offline, with no keys. Labelled
   * `local-*`; free of charge; every tier may use it and it is each tier's default.
   */
  private async ensureLocal(): Promise<void> {
    const created = await this.uow.run(async () => {
      await this.providers.lockSetUp();
      const all = await this.providers.list();
      if (all.length > 0) return false;
      const local = await this.providers.create({ name: LOCAL_PROVIDER, kind: 'local', baseUrl: null, enabled: true });
      for (const { alias, task } of LOCAL_ROUTES) {
        if (await this.routes.findByAlias(alias)) continue;
        await this.routes.create({
          alias,
          task,
          tiers: [],
          defaultFor: [],
          targets: [{ providerId: local.id, model: alias }],
          inputPerMTokMicros: 0,
          outputPerMTokMicros: 0,
          perImageMicros: 0,
          perVideoSecondMicros: 0,
        });
      }
      return true;
    });
    if (created) {
      this.logger.warn('No provider is configured: the built-in local provider (offline local-* models) is enabled');
      this.directory.changed();
    }
  }

  /** A key as its row stores it: sealed, with its fingerprint and last four characters. */
  private sealed(providerId: string, key: string) {
    return { providerId, sealedKey: this.secrets.seal(key), fingerprint: fingerprintOf(key), last4: key.slice(-4) };
  }

  private async assertNameFree(name: string): Promise<void> {
    if (await this.providers.findByName(name)) {
      throw new GatewayError(GatewayErrorCode.PROVIDER_NAME_TAKEN, `The provider name ${name} is taken.`);
    }
  }

  private async assertTargets(targets: RouteTargetDto[]): Promise<void> {
    const unknown: string[] = [];
    for (const { providerId } of targets) if (!(await this.providers.findById(providerId))) unknown.push(providerId);
    if (unknown.length > 0) {
      throw new GatewayError(GatewayErrorCode.UNKNOWN_PROVIDER, `Unknown provider: ${unknown.join(', ')}.`, {
        providers: unknown,
      });
    }
  }
}
