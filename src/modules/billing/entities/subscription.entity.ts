import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('subscriptions')
export class Subscription {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @Column('uuid', { name: 'plan_id' })
  planId: string;

  /** Billing periods start on this day of the month (1..28), 00:00 UTC. */
  @Column('int', { name: 'anchor_day' })
  anchorDay: number;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}
