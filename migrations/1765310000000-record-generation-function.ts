import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ACT_AS_TENANT } from './tenant-isolation.js';

const COLUMNS = [
  'user_id',
  'api_key_id',
  'task',
  'model',
  'provider_id',
  'provider_model',
  'status',
  'stream',
  'input_tokens',
  'output_tokens',
  'cost_micros',
  'latency_ms',
  'error_code',
  'client_ip',
  'request_id',
].join(', ');

/**
 * The generation record of a gateway call as one database call: one round
 * trip and one implicit transaction, acting as the tenant (row-level security
 * checks the row), where an insert in a unit of work takes four. `p_generation`
 * holds the columns by name.
 */
export class RecordGenerationFunction1765310000000 implements MigrationInterface {
  name = 'RecordGenerationFunction1765310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION atrium_record_generation(p_tenant uuid, p_rls boolean, p_generation jsonb)
      RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        ${ACT_AS_TENANT}
        INSERT INTO generations (tenant_id, ${COLUMNS})
        SELECT p_tenant, ${COLUMNS} FROM jsonb_populate_record(NULL::generations, p_generation);
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION atrium_record_generation(uuid, boolean, jsonb)`);
  }
}
