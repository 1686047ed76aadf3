// Gives the run an id; each Jest worker then migrates one template database for it
// (see test/helpers/test-database.ts) and every test file clones that template.
const { randomBytes } = require('node:crypto');
const { dropTestDatabases, newRunId } = require('./test-databases-cleanup.cjs');
const { buildCommonJsCopies } = require('./esm-compat.cjs');

module.exports = async function globalSetup() {
  buildCommonJsCopies();
  process.env.ATRIUM_TEST_RUN = newRunId(randomBytes(4).toString('hex'));
  if (process.env.TEST_DATABASE_URL) await dropTestDatabases(process.env.TEST_DATABASE_URL);
};
