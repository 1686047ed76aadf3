// The gateway's own cost, on the built server, as ratios measured in one run against an upstream in its own
// process (scripts/bench-upstream.mjs) that answers at once:
//   (1) straight to the upstream; (2) a minimal Fastify forwarder with undici (scripts/bench-forwarder.mjs);
//   (3) Atrium POST /api/v1/chat/completions with a tenant API key, through the whole path (auth, rate limits,
//       reservation, upstream call, commit, generation record).
// Reports req/s, p50 and p99 under `connections` (50) connections, and the latency each adds over the upstream
// with one connection. Also measures, in this process, what one chat call to the upstream costs a client through
// the official openai SDK and through undici's request (the gateway's chat path), one call at a time; and the
// floor of any exact reservation: one durable one-row UPDATE transaction on the same engine, one at a time (a
// chat call makes its hold durable before it calls the upstream, so it adds at least that much). Goals: Atrium >= 0.6x the forwarder's req/s; added p50 <= 0.5 ms and p99 <= 3 ms over
// the forwarder with one connection.
// Usage: npm run bench:gateway -- [--database-url postgres://postgres@127.0.0.1:5432/postgres]
//          [--redis-url redis://127.0.0.1:6379] [--seconds 8] [--connections 50] [--log-level warn]
// Always measures the embedded database; with --database-url, PostgreSQL (+ Redis) as well.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { PGlite } from '@electric-sql/pglite';
import OpenAI from 'openai';
import pg from 'pg';
import { request } from 'undici';
import { call, creditedBenchTenant, root, serverEnv, serverScript, start, withDatabase } from './bench-common.mjs';

const { values: args } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    'redis-url': { type: 'string' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    'log-level': { type: 'string', default: 'warn' },
  },
});

const body = JSON.stringify({ model: 'bench-chat', messages: [{ role: 'user', content: 'Say something short.' }] });

function load(url, headers, connections) {
  return new Promise((done, fail) =>
    autocannon(
      {
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        connections,
        duration: Number(args.seconds),
      },
      (err, result) => {
        if (err) return fail(err);
        if (result.non2xx > 0 || result.errors > 0)
          return fail(new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`));
        done({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 });
      },
    ),
  );
}

/** A tenant with ample credits on a limit-free prepaid plan, a provider on the upstream with one key, a priced route. */
function setUp(base, upstreamUrl) {
  return creditedBenchTenant(base, {
    prepare: async (rootAuth) => {
      const provider = await call(
        base,
        'POST',
        '/api/v1/providers',
        { name: 'bench-upstream', kind: 'openai', baseUrl: `${upstreamUrl}/v1` },
        rootAuth,
      );
      await call(base, 'POST', `/api/v1/providers/${provider.id}/keys`, { key: 'sk-bench-upstream-key' }, rootAuth);
      await call(
        base,
        'POST',
        '/api/v1/model-routes',
        {
          alias: 'bench-chat',
          task: 'chat',
          targets: [{ providerId: provider.id, model: 'upstream-model' }],
          inputPerMTokMicros: 1_000_000,
          outputPerMTokMicros: 2_000_000,
        },
        rootAuth,
      );
    },
  });
}

async function measure(engine, databaseUrl, redisUrl) {
  const [upstreamPort, forwarderPort, port] = [3993, 3992, 3991];
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-bench-gateway-'));
  const upstream = start(join(root, 'scripts/bench-upstream.mjs'), {
    port: upstreamPort,
    args: [String(upstreamPort)],
  });
  const forwarder = start(join(root, 'scripts/bench-forwarder.mjs'), {
    port: forwarderPort,
    args: [String(forwarderPort), upstreamUrl],
  });
  const server = start(serverScript, {
    port,
    env: serverEnv({ port, dataDir, databaseUrl, redisUrl, logLevel: args['log-level'] }),
  });
  try {
    await server.ready('/health/ready');
    const { key } = await setUp(base, upstreamUrl);
    const paths = [
      ['upstream', `${upstreamUrl}/v1/chat/completions`, {}],
      ['forwarder', `http://127.0.0.1:${forwarderPort}/v1/chat/completions`, {}],
      ['Atrium', `${base}/api/v1/chat/completions`, { 'x-api-key': key }],
    ];
    // Warm-up: connections, JIT, the gateway's directory and caches.
    for (const [, url, headers] of paths) await load(url, headers, 4);
    const loaded = {};
    const alone = {};
    for (const [name, url, headers] of paths) loaded[name] = await load(url, headers, Number(args.connections));
    for (const [name, url, headers] of paths) alone[name] = await load(url, headers, 1);
    return { engine, loaded, alone, clients: await clientCosts(upstreamUrl), floor: await writeFloor(databaseUrl) };
  } finally {
    await server.stop();
    await forwarder.stop();
    await upstream.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Milliseconds per sequential chat call to the upstream: through the openai SDK, and through undici's request. */
async function clientCosts(upstreamUrl) {
  const chat = JSON.parse(body);
  const sdk = new OpenAI({ apiKey: 'sk-bench-upstream-key', baseURL: `${upstreamUrl}/v1`, maxRetries: 0 });
  const viaSdk = () => sdk.chat.completions.create(chat);
  const viaUndici = async () => {
    const answer = await request(`${upstreamUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-bench-upstream-key', 'content-type': 'application/json' },
      body,
    });
    return answer.body.json();
  };
  const perCall = async (call, calls) => {
    const started = performance.now();
    for (let i = 0; i < calls; i++) await call();
    return (performance.now() - started) / calls;
  };
  const costs = { sdk: [], undici: [] };
  for (let round = 0; round < 3; round++) {
    costs.sdk.push(await perCall(viaSdk, round === 0 ? 200 : 1000));
    costs.undici.push(await perCall(viaUndici, round === 0 ? 200 : 1000));
  }
  const median = (values) => values.slice(1).sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
  return { sdk: median(costs.sdk), undici: median(costs.undici) };
}

/**
 * The median time of one durable one-row UPDATE transaction, one at a time: on the PostgreSQL database, or on
 * an embedded database in a directory of its own (the server's embedded database lives in its process).
 */
async function writeFloor(databaseUrl) {
  let run;
  let close;
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    run = (sql) => client.query(sql);
    close = () => client.end();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'atrium-bench-floor-'));
    const db = await PGlite.create(dir);
    run = (sql) => db.query(sql);
    close = async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  try {
    await run('CREATE TABLE bench_floor (id int PRIMARY KEY, v bigint NOT NULL)');
    await run('INSERT INTO bench_floor VALUES (1, 0)');
    const times = [];
    for (let i = 0; i < 1200; i++) {
      const started = performance.now();
      await run('UPDATE bench_floor SET v = v + 1 WHERE id = 1');
      if (i >= 200) times.push(performance.now() - started);
    }
    await run('DROP TABLE bench_floor');
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  } finally {
    await close();
  }
}

function report({ engine, loaded, alone, clients, floor }) {
  console.log(`\n${engine}: ${args.seconds} s per measurement, LOG_LEVEL=${args['log-level']}`);
  for (const name of Object.keys(loaded)) {
    const l = loaded[name];
    const a = alone[name];
    console.log(
      `  ${name.padEnd(10)} ${args.connections} connections: ${l.rps.toFixed(0).padStart(6)} req/s, p50 ${l.p50} ms, p99 ${l.p99} ms` +
        `   | 1 connection: p50 ${a.p50} ms, p99 ${a.p99} ms (adds p50 ${(a.p50 - alone.upstream.p50).toFixed(2)} ms, p99 ${(a.p99 - alone.upstream.p99).toFixed(2)} ms over the upstream)`,
    );
  }
  console.log(
    `  Atrium / forwarder req/s: ${(loaded.Atrium.rps / loaded.forwarder.rps).toFixed(2)} (goal >= 0.60); ` +
      `added over the forwarder, 1 connection: p50 ${(alone.Atrium.p50 - alone.forwarder.p50).toFixed(2)} ms (goal <= 0.5), ` +
      `p99 ${(alone.Atrium.p99 - alone.forwarder.p99).toFixed(2)} ms (goal <= 3)`,
  );
  console.log(
    `  one chat call to the upstream, one at a time: openai SDK ${clients.sdk.toFixed(3)} ms, ` +
      `undici request ${clients.undici.toFixed(3)} ms (SDK / undici ${(clients.sdk / clients.undici).toFixed(2)})`,
  );
  console.log(
    `  one durable one-row UPDATE transaction, one at a time: p50 ${floor.toFixed(3)} ms ` +
      `(a chat call's hold is at least one, before its upstream call)`,
  );
}

const runs = [await measure('embedded PGlite', undefined, undefined)];
if (args['database-url']) {
  runs.push(
    await withDatabase(args['database-url'], `atrium_bench_gateway_${Date.now()}`, (url) =>
      measure(`PostgreSQL${args['redis-url'] ? ' + Redis' : ''}`, url, args['redis-url']),
    ),
  );
}
runs.forEach(report);
