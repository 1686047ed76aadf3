import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';

/** The database as readiness reports it: reachable or not, and which engine. */
@Injectable()
export class DatabaseHealth {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  async describe(): Promise<{ engine: string; version: string; rowLevelSecurity: boolean; vectorSearch: string }> {
    const [{ server_version: version }] = (await this.dataSource.query('SHOW server_version')) as {
      server_version: string;
    }[];
    const pgvector = (await this.dataSource.query(`SELECT 1 FROM pg_extension WHERE extname = 'vector'`)) as unknown[];
    return {
      engine: this.config.database.url ? 'postgresql' : 'pglite',
      version,
      rowLevelSecurity: this.config.database.rowLevelSecurity,
      // How knowledge-base vectors are searched: pgvector, or float4[] compared exactly where the server lacks it.
      vectorSearch: pgvector.length > 0 ? 'pgvector' : 'float4[] (exact)',
    };
  }
}
