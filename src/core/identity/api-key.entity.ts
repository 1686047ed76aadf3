import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Permission } from '../auth/permissions.js';

export type ApiKeyKind = 'personal' | 'tenant';

@Entity('api_keys')
export class ApiKey {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'user_id', nullable: true })
  userId: string | null;

  @Column('varchar')
  kind: ApiKeyKind;

  @Column('varchar')
  name: string;

  @Column('varchar')
  prefix: string;

  @Column('char', { name: 'key_hash', length: 64 })
  keyHash: string;

  @Column('jsonb')
  scopes: Permission[];

  /** The knowledge bases the key may read and change (null: all its permissions reach). */
  @Column('uuid', { name: 'knowledge_base_ids', array: true, nullable: true })
  knowledgeBaseIds: string[] | null;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  /** When the row was written (not when its transaction began): the newest tenant key is the live one. */
  @Column('timestamptz', { name: 'created_at', default: () => 'clock_timestamp()' })
  createdAt: Date;
}
