import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('mail_outbox')
export class MailOutbox {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('uuid', { name: 'tenant_id', nullable: true })
  tenantId: string | null;

  @Column('varchar', { name: 'to_address' })
  to: string;

  @Column('varchar')
  subject: string;

  @Column('text')
  body: string;

  @Column('varchar')
  transport: 'outbox' | 'smtp';

  @Column('timestamptz', { name: 'sent_at', nullable: true })
  sentAt: Date | null;

  @Column('varchar', { nullable: true })
  error: string | null;

  /** Delivery attempts so far (the first is made right after the sending change commits). */
  @Column('int', { default: 0 })
  attempts: number;

  @Column('timestamptz', { name: 'claimed_at', nullable: true })
  claimedAt: Date | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}
