import { Injectable } from '@nestjs/common';
import { PlatformRepository } from '../database/platform.repository.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { PlatformAdmin } from './platform-admin.entity.js';
import type { LockoutPolicy } from './users.repository.js';

/** Super admins: platform accounts that belong to no tenant. */
@Injectable()
export class PlatformAdminsRepository extends PlatformRepository<PlatformAdmin> {
  constructor(uow: UnitOfWork) {
    super(PlatformAdmin, uow);
  }

  findById(id: string): Promise<PlatformAdmin | null> {
    return this.run((admins) => admins.findOne({ where: { id } }));
  }

  findByEmail(email: string): Promise<PlatformAdmin | null> {
    return this.run((admins) =>
      admins.createQueryBuilder('a').where('lower(a.email) = lower(:email)', { email }).getOne(),
    );
  }

  create(admin: Pick<PlatformAdmin, 'email' | 'name' | 'passwordHash'>): Promise<PlatformAdmin> {
    return this.run((admins) => admins.save(admins.create(admin)));
  }

  async updatePassword(id: string, passwordHash: string): Promise<void> {
    await this.run((admins) =>
      admins.update({ id }, { passwordHash, failedLogins: 0, lockedUntil: null, updatedAt: new Date() }),
    );
  }

  async bumpTokenVersion(id: string): Promise<void> {
    await this.run((admins) => admins.update({ id }, { tokenVersion: () => 'token_version + 1' }));
  }

  /** Counts one failed sign-in atomically; see UsersRepository.recordLoginFailure. */
  async recordLoginFailure(id: string, policy: LockoutPolicy): Promise<void> {
    await this.run((admins) =>
      admins
        .createQueryBuilder()
        .update()
        .set({
          failedLogins: () => 'failed_logins + 1',
          lockedUntil: () =>
            `CASE WHEN failed_logins + 1 >= :maxFailures
               THEN now() + make_interval(secs => LEAST(:lockoutSeconds * power(2, LEAST(failed_logins + 1 - :maxFailures, 30)), :maxLockoutSeconds))
               ELSE locked_until END`,
        })
        .where({ id })
        .setParameters(policy as unknown as Record<string, unknown>)
        .execute(),
    );
  }

  async resetLoginFailures(id: string): Promise<void> {
    await this.run((admins) => admins.update({ id }, { failedLogins: 0, lockedUntil: null }));
  }
}
