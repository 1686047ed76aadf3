import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { Tenant } from '../tenants/tenant.entity.js';
import { User, UserStatus } from '../users/user.entity.js';
import { AuthSession, type SubjectKind } from './auth-session.entity.js';
import { PlatformAdmin } from './platform-admin.entity.js';

/**
 * The authentication boundary: the only place that looks users up before a
 * tenant is known (sign-in, token checks). Every method names the tenant or the
 * credential it matches on explicitly.
 */
@Injectable()
export class AuthRepository {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectRepository(Tenant) private readonly tenants: Repository<Tenant>,
    @InjectRepository(PlatformAdmin) private readonly admins: Repository<PlatformAdmin>,
    @InjectRepository(AuthSession) private readonly sessions: Repository<AuthSession>,
  ) {}

  /** Live (not deleted) accounts with this e-mail, in every tenant or in the tenant with `tenantSlug`. */
  findUsersByEmail(email: string, tenantSlug?: string): Promise<User[]> {
    const qb = this.users
      .createQueryBuilder('u')
      .innerJoin(Tenant, 't', 't.id = u.tenant_id')
      .where('lower(u.email) = lower(:email)', { email })
      .andWhere('u.deleted_at IS NULL')
      .andWhere(`t.status <> 'deleted'`);
    if (tenantSlug) qb.andWhere('t.slug = :slug', { slug: tenantSlug.toLowerCase() });
    return qb.getMany();
  }

  findUser(tenantId: string, userId: string): Promise<User | null> {
    return this.users.findOne({ where: { tenantId, id: userId, deletedAt: IsNull() } });
  }

  findTenant(tenantId: string): Promise<Tenant | null> {
    return this.tenants.findOne({ where: { id: tenantId } });
  }

  findPlatformAdminByEmail(email: string): Promise<PlatformAdmin | null> {
    return this.admins.createQueryBuilder('a').where('lower(a.email) = lower(:email)', { email }).getOne();
  }

  findPlatformAdmin(id: string): Promise<PlatformAdmin | null> {
    return this.admins.findOne({ where: { id } });
  }

  savePlatformAdmin(admin: Partial<PlatformAdmin>): Promise<PlatformAdmin> {
    return this.admins.save(this.admins.create(admin));
  }

  async recordLoginFailure(kind: SubjectKind, subject: User | PlatformAdmin, lockedUntil: Date | null) {
    const patch = { failedLogins: subject.failedLogins + 1, lockedUntil };
    if (kind === 'user') await this.users.update({ tenantId: (subject as User).tenantId, id: subject.id }, patch);
    else await this.admins.update({ id: subject.id }, patch);
  }

  async resetLoginFailures(kind: SubjectKind, subject: User | PlatformAdmin) {
    if (subject.failedLogins === 0 && !subject.lockedUntil) return;
    const patch = { failedLogins: 0, lockedUntil: null };
    if (kind === 'user') await this.users.update({ tenantId: (subject as User).tenantId, id: subject.id }, patch);
    else await this.admins.update({ id: subject.id }, patch);
  }

  /** Invalidates every access token of the subject (checked on each request) and its refresh tokens. */
  async revokeAllSessions(kind: SubjectKind, subject: { id: string; tenantId?: string }): Promise<void> {
    if (kind === 'user') {
      await this.users.increment({ tenantId: subject.tenantId!, id: subject.id }, 'tokenVersion', 1);
    } else {
      await this.admins.increment({ id: subject.id }, 'tokenVersion', 1);
    }
    await this.sessions.update({ subjectId: subject.id, revokedAt: IsNull() }, { revokedAt: new Date() });
  }

  async updatePlatformAdminPassword(id: string, passwordHash: string): Promise<void> {
    await this.admins.update({ id }, { passwordHash, updatedAt: new Date() });
  }

  async updateUserPassword(tenantId: string, id: string, passwordHash: string): Promise<void> {
    await this.users.update(
      { tenantId, id },
      { passwordHash, failedLogins: 0, lockedUntil: null, updatedAt: new Date() },
    );
  }

  /** Accepting an invitation proves the address: the user becomes active and verified. */
  async activateInvitedUser(
    tenantId: string,
    id: string,
    values: { name: string; passwordHash: string },
  ): Promise<void> {
    const now = new Date();
    await this.users.update(
      { tenantId, id, status: UserStatus.INVITED },
      { ...values, status: UserStatus.ACTIVE, emailVerifiedAt: now, updatedAt: now },
    );
  }

  async markEmailVerified(tenantId: string, id: string): Promise<void> {
    await this.users.update({ tenantId, id }, { emailVerifiedAt: new Date(), updatedAt: new Date() });
  }

  insertSession(session: Partial<AuthSession>): Promise<AuthSession> {
    return this.sessions.save(this.sessions.create(session));
  }

  findSessionByHash(tokenHash: string): Promise<AuthSession | null> {
    return this.sessions.findOne({ where: { tokenHash } });
  }

  /** Marks a refresh token used; true only for the one caller that wins a race. */
  async claimSession(id: string): Promise<boolean> {
    const result = await this.sessions
      .createQueryBuilder()
      .update(AuthSession)
      .set({ usedAt: () => 'now()' })
      .where('id = :id AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()', { id })
      .execute();
    return (result.affected ?? 0) === 1;
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.sessions.update({ familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }
}
