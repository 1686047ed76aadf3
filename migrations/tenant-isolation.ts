import type { QueryRunner } from 'typeorm';

/** The role tenant-scoped work runs as (SET LOCAL ROLE in each unit of work); see src/core/database/unit-of-work.ts. */
export const TENANT_ROLE = 'atrium_app';

/**
 * Row-level security for one tenant-owned table: TENANT_ROLE may touch only the
 * rows of the tenant in the transaction-local setting `atrium.tenant_id` (no
 * setting: no rows). The owner, which runs migrations and the few explicitly
 * unscoped lookups, is not bound. Every migration that creates a tenant-owned
 * table calls this; it is append-only like the migrations themselves.
 */
export async function isolateTenantTable(q: QueryRunner, table: string): Promise<void> {
  await q.query(`ALTER TABLE "${table}" ENABLE ROW LEVEL SECURITY`);
  await q.query(
    `CREATE POLICY "tenant_isolation" ON "${table}" TO ${TENANT_ROLE}
       USING ("tenant_id" = nullif(current_setting('atrium.tenant_id', true), '')::uuid)
       WITH CHECK ("tenant_id" = nullif(current_setting('atrium.tenant_id', true), '')::uuid)`,
  );
  await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON "${table}" TO ${TENANT_ROLE}`);
}

export async function releaseTenantTable(q: QueryRunner, table: string): Promise<void> {
  await q.query(`REVOKE ALL ON "${table}" FROM ${TENANT_ROLE}`);
  await q.query(`DROP POLICY IF EXISTS "tenant_isolation" ON "${table}"`);
  await q.query(`ALTER TABLE "${table}" DISABLE ROW LEVEL SECURITY`);
}

/**
 * PL/pgSQL that makes the rest of a function's transaction act as tenant
 * `p_tenant` when `p_rls` is true, as a unit of work does (row-level security
 * then binds the function's statements too). For functions called in one
 * round trip, outside a unit of work.
 */
export const ACT_AS_TENANT = `
  IF p_rls THEN
    PERFORM set_config('role', '${TENANT_ROLE}', true), set_config('atrium.tenant_id', p_tenant::text, true);
  END IF;`;
