import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppConfig } from '../config/app-config.js';
import { createDatabaseOptions, type DatabaseOverrides } from './database-options.js';

/** The data source (PGlite or PostgreSQL) with every entity a module registers. */
@Module({})
export class DatabaseModule {
  static forRoot(config: AppConfig, overrides?: DatabaseOverrides): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: async () => ({ ...(await createDatabaseOptions(config, overrides)), autoLoadEntities: true }),
        }),
      ],
    };
  }
}
