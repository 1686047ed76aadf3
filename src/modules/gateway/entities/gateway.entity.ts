import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { bigintNumber } from '../../../core/database/bigint-number.js';

export const PROVIDER_KINDS = ['openai', 'gemini', 'anthropic', 'local'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];
export const TASKS = ['chat', 'embedding', 'image', 'video'] as const;
export type Task = (typeof TASKS)[number];
export type KeyState = 'active' | 'disabled';

/** An upstream the gateway calls (platform table; super admins manage it). */
@Entity('providers')
export class Provider {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('varchar')
  name: string;

  @Column('varchar')
  kind: ProviderKind;

  @Column('varchar', { name: 'base_url', nullable: true })
  baseUrl: string | null;

  @Column('boolean')
  enabled: boolean;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}

/** One API key of a provider's pool, sealed at rest, with its health. */
@Entity('provider_keys')
export class ProviderKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('uuid', { name: 'provider_id' })
  providerId: string;

  @Column('text', { name: 'sealed_key' })
  sealedKey: string;

  @Column('varchar')
  fingerprint: string;

  @Column('varchar')
  last4: string;

  /** disabled: refused by the upstream (401/403) until a probe succeeds. */
  @Column('varchar')
  state: KeyState;

  /** Skipped until then after a 429, 5xx or timeout. */
  @Column('timestamptz', { name: 'cooling_until', nullable: true })
  coolingUntil: Date | null;

  @Column('int', { name: 'consecutive_failures', default: 0 })
  consecutiveFailures: number;

  @Column('bigint', { transformer: bigintNumber, default: 0 })
  requests: number;

  @Column('bigint', { transformer: bigintNumber, default: 0 })
  failures: number;

  @Column('varchar', { name: 'last_error', nullable: true })
  lastError: string | null;

  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

export type RouteTarget = { providerId: string; model: string };

/** A model alias callers name: its task, the plan tiers that may use it, its targets in fallback order, its prices. */
@Entity('model_routes')
export class ModelRoute {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('varchar')
  alias: string;

  @Column('varchar')
  task: Task;

  /** Plan tiers allowed to use it; empty: every tier. */
  @Column('jsonb')
  tiers: string[];

  /** Tiers for which it is what `model: auto` (or no model) means for its task. */
  @Column('jsonb', { name: 'default_for' })
  defaultFor: string[];

  @Column('jsonb')
  targets: RouteTarget[];

  @Column('bigint', { name: 'input_per_mtok_micros', transformer: bigintNumber })
  inputPerMTokMicros: number;

  @Column('bigint', { name: 'output_per_mtok_micros', transformer: bigintNumber })
  outputPerMTokMicros: number;

  @Column('bigint', { name: 'per_image_micros', transformer: bigintNumber })
  perImageMicros: number;

  @Column('bigint', { name: 'per_video_second_micros', transformer: bigintNumber })
  perVideoSecondMicros: number;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}

/** The record of one gateway call (tenant-owned). */
@Entity('generations')
export class Generation {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'user_id', nullable: true })
  userId: string | null;

  @Column('uuid', { name: 'api_key_id', nullable: true })
  apiKeyId: string | null;

  @Column('varchar')
  task: Task;

  @Column('varchar')
  model: string;

  @Column('uuid', { name: 'provider_id', nullable: true })
  providerId: string | null;

  @Column('varchar', { name: 'provider_model', nullable: true })
  providerModel: string | null;

  @Column('varchar')
  status: 'succeeded' | 'failed';

  @Column('boolean')
  stream: boolean;

  @Column('int', { name: 'input_tokens' })
  inputTokens: number;

  @Column('int', { name: 'output_tokens' })
  outputTokens: number;

  @Column('bigint', { name: 'cost_micros', transformer: bigintNumber })
  costMicros: number;

  @Column('int', { name: 'latency_ms', nullable: true })
  latencyMs: number | null;

  @Column('varchar', { name: 'error_code', nullable: true })
  errorCode: string | null;

  @Column('varchar', { name: 'client_ip', nullable: true })
  clientIp: string | null;

  @Column('varchar', { name: 'request_id', nullable: true })
  requestId: string | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}
