const { Client } = require('pg');

/** A run's id starts with its start time (seconds, base 36), so stale runs can be told apart from live ones. */
function newRunId(randomHex) {
  return `${Math.floor(Date.now() / 1000).toString(36)}x${randomHex}`;
}

/**
 * Drops the databases of one test run, or (without a run) those of runs that
 * started more than `staleHours` ago — left behind by an interrupted run —
 * so that test runs in parallel on one PostgreSQL never drop each other's.
 */
async function dropTestDatabases(url, { run, staleHours = 6 } = {}) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE 'atrium\\_test\\_%'`);
    const cutoff = Date.now() / 1000 - staleHours * 3600;
    for (const { datname } of rows) {
      const match = /^atrium_test_([0-9a-z]+)x[0-9a-f]+_/.exec(datname);
      const mine = run !== undefined && datname.startsWith(`atrium_test_${run}_`);
      const stale = run === undefined && (!match || parseInt(match[1], 36) < cutoff);
      if (mine || stale) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

module.exports = { dropTestDatabases, newRunId };
