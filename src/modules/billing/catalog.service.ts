import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { BillingError, BillingErrorCode, unknownMeters } from './billing.errors.js';
import { MetersRepository, PlansRepository } from './catalog.repository.js';
import type { CreateMeterDto, CreatePlanDto, UpdateMeterDto, UpdatePlanDto } from './dto/billing.dto.js';
import type { Meter } from './entities/meter.entity.js';
import type { Plan } from './entities/plan.entity.js';
import { PlanCache } from './plan-cache.js';

/** The platform catalog: meters and plans (super admins write, everyone signed in reads active plans). */
@Injectable()
export class CatalogService {
  constructor(
    private readonly meters: MetersRepository,
    private readonly plans: PlansRepository,
    private readonly cache: PlanCache,
    private readonly uow: UnitOfWork,
  ) {}

  listMeters(): Promise<Meter[]> {
    return this.meters.list();
  }

  async createMeter(input: CreateMeterDto): Promise<Meter> {
    if (await this.meters.findByCode(input.code)) {
      throw new BillingError(BillingErrorCode.METER_EXISTS, `The meter ${input.code} exists.`);
    }
    return this.uow.run(async () => {
      const meter = await this.meters.create(input);
      this.cache.changed();
      return meter;
    });
  }

  async updateMeter(code: string, patch: UpdateMeterDto): Promise<Meter> {
    if (!(await this.meters.findByCode(code))) throw meterNotFound();
    await this.meters.update(code, patch);
    return (await this.meters.findByCode(code))!;
  }

  listPlans(all: boolean): Promise<Plan[]> {
    return this.plans.list(!all);
  }

  /** A plan by id; archived plans only for super admins (`all`). */
  async plan(id: string, all: boolean): Promise<Plan> {
    const plan = await this.plans.findById(id);
    if (!plan || (!all && plan.status !== 'active')) throw planNotFound();
    return plan;
  }

  async createPlan(input: CreatePlanDto): Promise<Plan> {
    await this.assertMeters(input);
    if (await this.plans.findByCode(input.code)) {
      throw new BillingError(BillingErrorCode.PLAN_CODE_TAKEN, `The plan code ${input.code} is taken.`);
    }
    return this.plans.create({
      code: input.code,
      name: input.name,
      priceMicros: input.priceMicros ?? 0,
      currency: input.currency ?? 'USD',
      interval: input.interval ?? 'month',
      tier: input.tier,
      billingMode: input.billingMode ?? 'prepaid',
      includedCreditsMicros: input.includedCreditsMicros ?? 0,
      rateLimits: { ...input.rateLimits },
      quotas: (input.quotas ?? []).map((q) => ({ ...q })),
      charges: (input.charges ?? []).map((c) => ({ ...c })),
    });
  }

  async updatePlan(id: string, patch: UpdatePlanDto): Promise<Plan> {
    await this.plan(id, true);
    await this.assertMeters(patch);
    await this.uow.run(async () => {
      await this.plans.update(id, {
        ...patch,
        ...(patch.rateLimits && { rateLimits: { ...patch.rateLimits } }),
        ...(patch.quotas && { quotas: patch.quotas.map((q) => ({ ...q })) }),
        ...(patch.charges && { charges: patch.charges.map((c) => ({ ...c })) }),
      });
      this.cache.changed();
    });
    return this.plan(id, true);
  }

  /** Archived plans leave the catalog; tenants already on one keep it until moved. */
  async archivePlan(id: string): Promise<void> {
    await this.plan(id, true);
    await this.uow.run(async () => {
      await this.plans.update(id, { status: 'archived' });
      this.cache.changed();
    });
  }

  private async assertMeters(input: Pick<UpdatePlanDto, 'quotas' | 'charges'>): Promise<void> {
    const unknown = await this.meters.unknownOf(
      [...(input.quotas ?? []), ...(input.charges ?? [])].map((x) => x.meter),
    );
    if (unknown.length > 0) throw unknownMeters(unknown);
  }
}

export const meterNotFound = () => new BillingError(BillingErrorCode.METER_NOT_FOUND, 'Meter not found.');
export const planNotFound = () => new BillingError(BillingErrorCode.PLAN_NOT_FOUND, 'Plan not found.');
