// What the benchmark scripts share: starting the built server (or another script) and waiting for
// it, the server's settings, API calls, a fresh PostgreSQL database per run, and a signed-in tenant
// admin with an API key.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';

export const root = resolve(import.meta.dirname, '..');
export const serverScript = join(root, 'dist/src/main.js');
export const admin = { email: 'bench-root@atrium.local', password: 'bench-super-admin-password' };
const tenantAdmin = { email: 'bench@atrium.local', name: 'Bench', password: 'bench tenant admin pw' };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The built server's settings for a benchmark: production mode, a known super admin, cheap hashing. */
export function serverEnv({ port, dataDir, databaseUrl, redisUrl, logLevel }) {
  return {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl ?? '',
    REDIS_URL: redisUrl ?? '',
    LOG_LEVEL: logLevel,
    LOG_FORMAT: 'json',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-123',
    SECRETS_KEY: 'a'.repeat(64),
    SUPER_ADMIN_EMAIL: admin.email,
    SUPER_ADMIN_PASSWORD: admin.password,
    BCRYPT_COST: '4',
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
  };
}

/** Starts `script` (with `args`) listening on `port`; BENCH_PROFILE=1 adds --cpu-prof. */
export function start(script, { port, env = {}, args = [] }) {
  const child = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof'] : []), script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    /** CPU time the process has used so far, in microseconds (user + system, from /proc). */
    cpuMicros() {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
    },
    async ready(path) {
      for (let i = 0; i < 1200; i++) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}${path}`)).ok) return;
        } catch {
          // not up yet
        }
        await sleep(50);
      }
      throw new Error(`${script} did not become ready`);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function call(base, method, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

/** Runs `fn` with a connection string to a new database next to `databaseUrl`, dropped afterwards. */
export async function withDatabase(databaseUrl, name, fn) {
  const url = new URL(databaseUrl);
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`CREATE DATABASE "${name}"`);
  try {
    url.pathname = `/${name}`;
    return await fn(url.toString());
  } finally {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.end();
  }
}

/**
 * Signs the super admin in, lets `prepare(rootAuth)` set the platform up, creates a tenant with
 * `slug` (then `configure(tenantId, rootAuth)`), and signs its admin in with a personal API key.
 */
export async function benchTenant(base, { slug, prepare, configure } = {}) {
  const rootLogin = await call(base, 'POST', '/api/v1/auth/login', admin);
  const rootAuth = { authorization: `Bearer ${rootLogin.accessToken}` };
  await prepare?.(rootAuth);
  const created = await call(
    base,
    'POST',
    '/api/v1/tenants',
    { name: 'Bench', slug: slug ?? `bench-${Date.now()}`, admin: tenantAdmin },
    rootAuth,
  );
  await configure?.(created.tenant.id, rootAuth);
  const user = await call(base, 'POST', '/api/v1/auth/login', {
    email: tenantAdmin.email,
    password: tenantAdmin.password,
    tenant: created.tenant.slug,
  });
  const jwt = { authorization: `Bearer ${user.accessToken}` };
  const key = await call(base, 'POST', '/api/v1/api-keys', { name: 'bench' }, jwt);
  return { tenantId: created.tenant.id, jwt, key: key.key, accessToken: user.accessToken };
}

/**
 * benchTenant on a prepaid plan of its own (no rate limits; `plan` adds fields such as quotas) with a
 * trillion micros of credits; `prepare(rootAuth)` sets up more of the platform first.
 */
export function creditedBenchTenant(base, { plan = {}, prepare } = {}) {
  const code = `bench-${Date.now()}`;
  return benchTenant(base, {
    slug: code,
    prepare: async (rootAuth) => {
      await call(
        base,
        'POST',
        '/api/v1/plans',
        { code, name: 'Bench', tier: 'bench', billingMode: 'prepaid', ...plan },
        rootAuth,
      );
      await prepare?.(rootAuth);
    },
    configure: async (tenantId, rootAuth) => {
      await call(base, 'PUT', `/api/v1/tenants/${tenantId}/subscription`, { planCode: code }, rootAuth);
      await call(
        base,
        'POST',
        `/api/v1/tenants/${tenantId}/credits/grants`,
        { amountMicros: 1_000_000_000_000, reason: 'bench', idempotencyKey: 'bench' },
        rootAuth,
      );
    },
  });
}
