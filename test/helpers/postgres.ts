import pg from 'pg';

/**
 * A plain PostgreSQL session on a test database, beside the app's pool: to look at
 * what other sessions have committed, hold locks, or terminate the app's sessions.
 */
export async function openSession(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'atrium-test-observer' });
  // A terminated or dropped session must not crash the test run through an unhandled 'error' event.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The app's sessions on the database (pid, state, what they wait for and run), excluding the caller's. */
export async function appSessions(
  observer: pg.Client,
): Promise<{ pid: number; state: string; wait_event_type: string | null; query: string }[]> {
  const { rows } = await observer.query(
    `SELECT pid, state, wait_event_type, query FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'atrium' AND pid <> pg_backend_pid()`,
  );
  return rows;
}

/** The tables a session holds row-exclusive locks on: the tables its open transaction has written to. */
export async function tablesWrittenBy(observer: pg.Client, pid: number): Promise<string[]> {
  const { rows } = await observer.query(
    `SELECT DISTINCT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE l.pid = $1 AND l.mode = 'RowExclusiveLock' AND c.relkind = 'r' ORDER BY 1`,
    [pid],
  );
  return rows.map((r: { relname: string }) => r.relname);
}
