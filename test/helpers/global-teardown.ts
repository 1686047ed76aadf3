import { rm } from 'node:fs/promises';
import { adminQuery, postgresUrl, TEMPLATE_ENV } from './test-database.js';

export default async function globalTeardown(): Promise<void> {
  const template = process.env[TEMPLATE_ENV];
  if (!template) return;
  if (postgresUrl()) await adminQuery(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  else await rm(template, { force: true });
}
