import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { PlatformRepository } from '../database/platform.repository.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { AuthSession, type SubjectKind } from './auth-session.entity.js';

/**
 * Refresh tokens, one row per issued token; a family is one sign-in's chain of
 * rotations. A platform table: super admins' sign-ins have no tenant.
 */
@Injectable()
export class SessionsRepository extends PlatformRepository<AuthSession> {
  constructor(uow: UnitOfWork) {
    super(AuthSession, uow);
  }

  insert(
    session: Pick<AuthSession, 'familyId' | 'subjectKind' | 'subjectId' | 'tenantId' | 'tokenHash' | 'expiresAt'>,
  ) {
    return this.run((sessions) => sessions.save(sessions.create(session)));
  }

  findByHash(tokenHash: string): Promise<AuthSession | null> {
    return this.run((sessions) => sessions.findOne({ where: { tokenHash } }));
  }

  /**
   * Marks a refresh token used; true only for the one caller that wins a race.
   * The row stays locked until the unit of work ends, so a concurrent reuse waits
   * for the winner's new token to commit and then revokes it with the family.
   */
  async claim(id: string): Promise<boolean> {
    const result = await this.run((sessions) =>
      sessions
        .createQueryBuilder()
        .update()
        .set({ usedAt: () => 'now()' })
        .where('id = :id AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()', { id })
        .execute(),
    );
    return (result.affected ?? 0) === 1;
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.run((sessions) => sessions.update({ familyId, revokedAt: IsNull() }, { revokedAt: new Date() }));
  }

  async revokeAllOf(kind: SubjectKind, subjectId: string): Promise<void> {
    await this.run((sessions) =>
      sessions.update({ subjectKind: kind, subjectId, revokedAt: IsNull() }, { revokedAt: new Date() }),
    );
  }

  /** A sign-in is live while one of its tokens is not revoked. */
  async familyLive(familyId: string): Promise<boolean> {
    return this.run(async (sessions) => (await sessions.count({ where: { familyId, revokedAt: IsNull() } })) > 0);
  }
}
