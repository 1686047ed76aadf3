import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { PlatformRepository } from '../../core/database/platform.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { Meter } from './entities/meter.entity.js';
import { Plan } from './entities/plan.entity.js';

/** The platform's meters. */
@Injectable()
export class MetersRepository extends PlatformRepository<Meter> {
  constructor(uow: UnitOfWork) {
    super(Meter, uow);
  }

  list(): Promise<Meter[]> {
    return this.run((meters) => meters.find({ order: { code: 'ASC' } }));
  }

  findByCode(code: string): Promise<Meter | null> {
    return this.run((meters) => meters.findOne({ where: { code } }));
  }

  /** Which of `codes` exist. */
  /** The codes among `codes` that name no meter, each once. */
  async unknownOf(codes: string[]): Promise<string[]> {
    const wanted = [...new Set(codes)];
    if (wanted.length === 0) return [];
    const rows = await this.run((meters) => meters.find({ where: { code: In(wanted) }, select: { code: true } }));
    const known = new Set(rows.map((m) => m.code));
    return wanted.filter((c) => !known.has(c));
  }

  create(values: Pick<Meter, 'code' | 'name' | 'unit'>): Promise<Meter> {
    return this.run((meters) => meters.save(meters.create({ ...values, builtIn: false })));
  }

  async update(code: string, patch: Partial<Pick<Meter, 'name' | 'unit'>>): Promise<void> {
    await this.run((meters) => meters.update({ code }, { ...patch, updatedAt: new Date() }));
  }
}

/** The platform's plan catalog. */
@Injectable()
export class PlansRepository extends PlatformRepository<Plan> {
  constructor(uow: UnitOfWork) {
    super(Plan, uow);
  }

  list(activeOnly: boolean): Promise<Plan[]> {
    return this.run((plans) =>
      plans.find({ where: activeOnly ? { status: 'active' } : {}, order: { priceMicros: 'ASC', code: 'ASC' } }),
    );
  }

  findById(id: string): Promise<Plan | null> {
    return this.run((plans) => plans.findOne({ where: { id } }));
  }

  findByCode(code: string): Promise<Plan | null> {
    return this.run((plans) => plans.findOne({ where: { code } }));
  }

  create(values: Omit<Plan, 'id' | 'status' | 'createdAt' | 'updatedAt'>): Promise<Plan> {
    return this.run((plans) => plans.save(plans.create({ ...values, status: 'active' })));
  }

  async update(id: string, patch: Partial<Omit<Plan, 'id' | 'createdAt' | 'updatedAt'>>): Promise<void> {
    await this.run((plans) =>
      plans.update({ id }, { ...patch, updatedAt: new Date() } as Parameters<typeof plans.update>[1]),
    );
  }
}
