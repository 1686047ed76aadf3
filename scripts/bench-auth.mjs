// Throughput and latency of the authentication paths, on the built server:
//   GET /health/live (no auth), GET /api/v1/auth/me with an API key, and with a JWT.
// Usage: npm run build && node scripts/bench-auth.mjs [--database-url postgres://...] [--seconds 10] [--connections 10]
// Without --database-url the server runs on the embedded database in a temporary DATA_DIR.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values: args } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
  },
});
const root = resolve(import.meta.dirname, '..');
const port = 3995;
const base = `http://127.0.0.1:${port}`;
const admin = { email: 'bench-root@atrium.local', password: 'bench-super-admin-password' };
const dataDir = mkdtempSync(join(tmpdir(), 'atrium-bench-auth-'));

const server = spawn(
  process.execPath,
  [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), join(root, 'dist/src/main.js')],
  {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: args['database-url'] ?? '',
      REDIS_URL: '',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      JWT_SECRET: 'bench-secret-bench-secret-bench-secret-123',
      SUPER_ADMIN_EMAIL: admin.email,
      SUPER_ADMIN_PASSWORD: admin.password,
      BCRYPT_COST: '4',
      LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);

async function call(method, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${await res.text()}`);
  return res.json();
}

function run(title, headers) {
  return new Promise((done, fail) => {
    autocannon(
      {
        url: `${base}${title.path}`,
        headers,
        connections: Number(args.connections),
        duration: Number(args.seconds),
      },
      (err, result) => (err ? fail(err) : done(result)),
    );
  });
}

try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health/ready`)).ok) break;
    } catch {
      // not up yet
    }
    if (i > 600) throw new Error('server did not become ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const rootLogin = await call('POST', '/api/v1/auth/login', admin);
  const slug = `bench-${Date.now()}`;
  const created = await call(
    'POST',
    '/api/v1/tenants',
    { name: 'Bench', slug, admin: { email: 'bench@atrium.local', name: 'Bench', password: 'bench tenant admin pw' } },
    { authorization: `Bearer ${rootLogin.accessToken}` },
  );
  const userLogin = await call('POST', '/api/v1/auth/login', {
    email: 'bench@atrium.local',
    password: 'bench tenant admin pw',
    tenant: created.tenant.slug,
  });
  const key = await call(
    'POST',
    '/api/v1/api-keys',
    { name: 'bench' },
    { authorization: `Bearer ${userLogin.accessToken}` },
  );

  const cases = [
    ['GET /health/live (no auth)', { path: '/health/live' }, {}],
    ['GET /api/v1/auth/me (API key)', { path: '/api/v1/auth/me' }, { 'x-api-key': key.key }],
    ['GET /api/v1/auth/me (JWT)', { path: '/api/v1/auth/me' }, { authorization: `Bearer ${userLogin.accessToken}` }],
  ];
  const results = [];
  for (const [name, target, headers] of cases.filter(([n]) => !args.only || n.includes(args.only))) {
    const r = await run(target, headers);
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    results.push({ name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 });
  }
  const engine = args['database-url'] ? 'PostgreSQL' : 'embedded PGlite';
  console.log(`\nengine: ${engine}; ${args.connections} connections, ${args.seconds} s per route`);
  for (const r of results) {
    console.log(`${r.name.padEnd(32)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50} ms   p99 ${r.p99} ms`);
  }
  if (results.length === 3) {
    const live = results[0].rps;
    console.log(`API key / health-live throughput: ${((results[1].rps / live) * 100).toFixed(1)}%`);
    console.log(`JWT / health-live throughput:     ${((results[2].rps / live) * 100).toFixed(1)}%`);
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
