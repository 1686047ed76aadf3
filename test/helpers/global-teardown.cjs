const { readdirSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { dropTestDatabases } = require('./test-databases-cleanup.cjs');

module.exports = async function globalTeardown() {
  const run = process.env.ATRIUM_TEST_RUN;
  for (const file of readdirSync(tmpdir())) {
    if (run && file.startsWith(`atrium-test-${run}-`)) rmSync(join(tmpdir(), file), { force: true });
  }
  if (process.env.TEST_DATABASE_URL && run) await dropTestDatabases(process.env.TEST_DATABASE_URL, { run });
};
