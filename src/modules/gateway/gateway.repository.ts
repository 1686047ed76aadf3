import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { PlatformRepository } from '../../core/database/platform.repository.js';
import { queryRows } from '../../core/database/query-rows.js';
import { TenantScopedRepository } from '../../core/database/tenant-scoped.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import type { CommitAlongside } from '../billing/metering.repository.js';
import { Generation, ModelRoute, Provider, ProviderKey } from './entities/gateway.entity.js';

/** The platform's upstream providers. */
@Injectable()
export class ProvidersRepository extends PlatformRepository<Provider> {
  constructor(uow: UnitOfWork) {
    super(Provider, uow);
  }

  list(): Promise<Provider[]> {
    return this.run((providers) => providers.find({ order: { name: 'ASC' } }));
  }

  findById(id: string): Promise<Provider | null> {
    return this.run((providers) => providers.findOne({ where: { id } }));
  }

  findByName(name: string): Promise<Provider | null> {
    return this.run((providers) => providers.findOne({ where: { name } }));
  }

  create(values: Pick<Provider, 'name' | 'kind' | 'baseUrl' | 'enabled'>): Promise<Provider> {
    return this.run((providers) => providers.save(providers.create(values)));
  }

  async update(id: string, patch: Partial<Pick<Provider, 'name' | 'baseUrl' | 'enabled'>>): Promise<void> {
    await this.run((providers) => providers.update({ id }, { ...patch, updatedAt: new Date() }));
  }

  async delete(id: string): Promise<void> {
    await this.run((providers) => providers.delete({ id }));
  }

  /** Serialises start-up set-up across instances until the unit of work ends (two instances booting at once). */
  async lockSetUp(): Promise<void> {
    await this.run((_providers, manager) =>
      queryRows(manager, `SELECT pg_advisory_xact_lock(hashtext('atrium.gateway.set-up'))`),
    );
  }
}

/** The providers' key pools. Keys are stored sealed; only the pool opens them, to call the upstream. */
@Injectable()
export class ProviderKeysRepository extends PlatformRepository<ProviderKey> {
  constructor(uow: UnitOfWork) {
    super(ProviderKey, uow);
  }

  listOf(providerId: string): Promise<ProviderKey[]> {
    return this.run((keys) => keys.find({ where: { providerId }, order: { createdAt: 'ASC', id: 'ASC' } }));
  }

  /** How many keys the provider's pool holds. */
  countOf(providerId: string): Promise<number> {
    return this.run((keys) => keys.count({ where: { providerId } }));
  }

  /** Every key of every enabled provider, in pool order (the pool's periodic read). */
  listEnabled(): Promise<ProviderKey[]> {
    return this.run((_keys, manager) =>
      queryRows<ProviderKey>(
        manager,
        `SELECT k.id, k.provider_id AS "providerId", k.sealed_key AS "sealedKey", k.last4, k.state,
                k.cooling_until AS "coolingUntil"
           FROM provider_keys k JOIN providers p ON p.id = k.provider_id
          WHERE p.enabled ORDER BY k.created_at, k.id`,
      ),
    );
  }

  findOf(providerId: string, id: string): Promise<ProviderKey | null> {
    return this.run((keys) => keys.findOne({ where: { providerId, id } }));
  }

  /** Adds a key unless the provider has it already (same fingerprint); null then. */
  async add(
    values: Pick<ProviderKey, 'providerId' | 'sealedKey' | 'fingerprint' | 'last4'>,
  ): Promise<ProviderKey | null> {
    const [row] = await this.run((_keys, manager) =>
      queryRows<{ id: string }>(
        manager,
        `INSERT INTO provider_keys (provider_id, sealed_key, fingerprint, last4) VALUES ($1, $2, $3, $4)
         ON CONFLICT (provider_id, fingerprint) DO NOTHING RETURNING id`,
        [values.providerId, values.sealedKey, values.fingerprint, values.last4],
      ),
    );
    return row ? this.findOf(values.providerId, row.id) : null;
  }

  async delete(providerId: string, id: string): Promise<boolean> {
    return this.run(async (keys) => ((await keys.delete({ providerId, id })).affected ?? 0) > 0);
  }

  /** The key worked: its failure streak ends (and, with `enable`, a disabled key is active again). */
  async markHealthy(id: string, enable = false): Promise<void> {
    await this.run((keys) =>
      keys.update(
        { id },
        { consecutiveFailures: 0, coolingUntil: null, ...(enable && { state: 'active' as const, lastError: null }) },
      ),
    );
  }

  async markCooling(id: string, until: Date, error: string): Promise<void> {
    await this.run((_keys, manager) =>
      queryRows(
        manager,
        `UPDATE provider_keys SET cooling_until = $2, consecutive_failures = consecutive_failures + 1, last_error = $3
          WHERE id = $1`,
        [id, until, error.slice(0, 500)],
      ),
    );
  }

  async markDisabled(id: string, error: string): Promise<void> {
    await this.run((keys) => keys.update({ id }, { state: 'disabled', lastError: error.slice(0, 500) }));
  }

  /** Adds counted uses: requests and failures, and the last use. */
  async addUses(uses: { id: string; requests: number; failures: number; at: Date }[]): Promise<void> {
    await this.run((_keys, manager) =>
      queryRows(
        manager,
        `UPDATE provider_keys k SET requests = k.requests + u.r, failures = k.failures + u.f,
                last_used_at = GREATEST(k.last_used_at, u.at)
           FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::timestamptz[]) AS u(id, r, f, at)
          WHERE k.id = u.id`,
        [uses.map((u) => u.id), uses.map((u) => u.requests), uses.map((u) => u.failures), uses.map((u) => u.at)],
      ),
    );
  }
}

/** The platform's model routes. */
@Injectable()
export class ModelRoutesRepository extends PlatformRepository<ModelRoute> {
  constructor(uow: UnitOfWork) {
    super(ModelRoute, uow);
  }

  list(): Promise<ModelRoute[]> {
    return this.run((routes) => routes.find({ order: { alias: 'ASC' } }));
  }

  findById(id: string): Promise<ModelRoute | null> {
    return this.run((routes) => routes.findOne({ where: { id } }));
  }

  findByAlias(alias: string): Promise<ModelRoute | null> {
    return this.run((routes) => routes.findOne({ where: { alias } }));
  }

  create(values: Omit<ModelRoute, 'id' | 'createdAt' | 'updatedAt'>): Promise<ModelRoute> {
    return this.run((routes) => routes.save(routes.create(values)));
  }

  async update(id: string, patch: Partial<Omit<ModelRoute, 'id' | 'createdAt' | 'updatedAt'>>): Promise<void> {
    await this.run((routes) =>
      routes.update({ id }, { ...patch, updatedAt: new Date() } as Parameters<typeof routes.update>[1]),
    );
  }

  async delete(id: string): Promise<void> {
    await this.run((routes) => routes.delete({ id }));
  }

  /** Routes whose targets name the provider. */
  async usingProvider(providerId: string): Promise<string[]> {
    const rows = await this.run((_routes, manager) =>
      queryRows<{ alias: string }>(
        manager,
        `SELECT alias FROM model_routes WHERE targets @> jsonb_build_array(jsonb_build_object('providerId', $1::text))
          ORDER BY alias`,
        [providerId],
      ),
    );
    return rows.map((r) => r.alias);
  }
}

/** The tenant's generation records. */
@Injectable()
export class GenerationsRepository extends TenantScopedRepository<Generation> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(Generation, uow, context);
  }

  /** Records a generation in one round trip (see atrium_record_generation). */
  async record(values: GenerationValues): Promise<void> {
    const { sql, params } = recording(values);
    await this.call(`SELECT ${sql(3)}`, params);
  }

  list(limit: number): Promise<Generation[]> {
    return this.find({ order: { createdAt: 'DESC' }, take: limit });
  }
}

/** A generation's columns, as the gateway records them. */
export type GenerationValues = Omit<Generation, 'tenantId' | 'id' | 'createdAt'>;

/**
 * The call of atrium_record_generation that records `values` (the tenant and
 * the row-level-security flag are `$1` and `$2`; its one parameter is `$first`):
 * on its own, or made by the statement that commits the generation's usage.
 */
export function recording(values: GenerationValues): CommitAlongside {
  const columns = {
    user_id: values.userId,
    api_key_id: values.apiKeyId,
    task: values.task,
    model: values.model,
    provider_id: values.providerId,
    provider_model: values.providerModel,
    status: values.status,
    stream: values.stream,
    input_tokens: values.inputTokens,
    output_tokens: values.outputTokens,
    cost_micros: values.costMicros,
    latency_ms: values.latencyMs,
    error_code: values.errorCode,
    client_ip: values.clientIp,
    request_id: values.requestId,
  };
  return { sql: (first) => `atrium_record_generation($1, $2, $${first}::jsonb)`, params: [JSON.stringify(columns)] };
}
