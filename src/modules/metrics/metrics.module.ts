import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller.js';

/** GET /metrics; the registry itself (MetricsService) lives in the core, where every module can count. */
@Module({ controllers: [MetricsController] })
export class MetricsModule {}
