import { Injectable } from '@nestjs/common';
import { PlatformRepository } from '../database/platform.repository.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { MailOutbox } from './mail-outbox.entity.js';
import { queryRows } from '../database/query-rows.js';

/** The outbox: every message, written in the same unit of work as the change that sends it. */
@Injectable()
export class MailOutboxRepository extends PlatformRepository<MailOutbox> {
  constructor(uow: UnitOfWork) {
    super(MailOutbox, uow);
  }

  insert(row: Pick<MailOutbox, 'tenantId' | 'to' | 'subject' | 'body' | 'transport'>): Promise<MailOutbox> {
    return this.run((outbox) => outbox.save(outbox.create({ ...row, attempts: 0 })));
  }

  async markSent(id: string): Promise<void> {
    await this.run((outbox) => outbox.update({ id }, { sentAt: new Date(), error: null }));
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.run((outbox) => outbox.update({ id }, { error }));
  }

  /**
   * Claims messages still to deliver (never sent, fewer than `maxAttempts`
   * tries, older than `olderThanMs`) for one delivery attempt; each message is
   * claimed by one instance only.
   */
  async claimUndelivered(maxAttempts: number, olderThanMs: number, limit: number): Promise<MailOutbox[]> {
    const rows = await this.run((_outbox, manager) =>
      queryRows(
        manager,
        `UPDATE mail_outbox SET attempts = attempts + 1, claimed_at = now()
            WHERE id IN (
              SELECT id FROM mail_outbox
               WHERE transport = 'smtp' AND sent_at IS NULL AND attempts < $1
                 AND coalesce(claimed_at, created_at) < now() - make_interval(secs => $2::double precision / 1000)
               ORDER BY created_at
               LIMIT $3
               FOR UPDATE SKIP LOCKED)
            RETURNING id, tenant_id, to_address, subject, body, transport`,
        [maxAttempts, olderThanMs, limit],
      ),
    );
    return rows.map((r) => ({
      id: r.id as string,
      tenantId: r.tenant_id as string | null,
      to: r.to_address as string,
      subject: r.subject as string,
      body: r.body as string,
      transport: r.transport as 'smtp',
    })) as MailOutbox[];
  }
}
