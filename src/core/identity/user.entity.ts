import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { TenantRole } from '../auth/permissions.js';

export enum UserStatus {
  ACTIVE = 'active',
  DISABLED = 'disabled',
  /** Created by an admin without a password; becomes active when the invitation is accepted. */
  INVITED = 'invited',
}

@Entity('users')
export class User {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('varchar')
  email: string;

  @Column('varchar')
  name: string;

  @Column('varchar', { name: 'password_hash', nullable: true })
  passwordHash: string | null;

  @Column('varchar')
  role: TenantRole;

  @Column('varchar')
  status: UserStatus;

  @Column('timestamptz', { name: 'email_verified_at', nullable: true })
  emailVerifiedAt: Date | null;

  @Column('int', { name: 'token_version', default: 0 })
  tokenVersion: number;

  @Column('int', { name: 'failed_logins', default: 0 })
  failedLogins: number;

  @Column('timestamptz', { name: 'locked_until', nullable: true })
  lockedUntil: Date | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;

  @Column('timestamptz', { name: 'deleted_at', nullable: true })
  deletedAt: Date | null;
}
