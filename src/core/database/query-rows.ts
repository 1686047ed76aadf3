import type { EntityManager } from 'typeorm';

/**
 * Runs one SQL statement and answers its rows, whatever kind it is: TypeORM
 * answers UPDATE and DELETE … RETURNING with `[rows, count]`, and everything
 * else (SELECT, INSERT … RETURNING) with the rows themselves.
 */
export async function queryRows<R = Record<string, unknown>>(
  manager: EntityManager,
  sql: string,
  parameters: unknown[] = [],
): Promise<R[]> {
  const result = (await manager.query(sql, parameters)) as R[] | [R[], number];
  return Array.isArray(result[0]) ? (result[0] as R[]) : (result as R[]);
}
