import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A named count: what usage is measured in (requests, tokens, images, ...). Platform catalog. */
@Entity('meters')
export class Meter {
  @PrimaryColumn('varchar')
  code: string;

  @Column('varchar')
  name: string;

  @Column('varchar')
  unit: string;

  @Column('boolean', { name: 'built_in', default: false })
  builtIn: boolean;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}
