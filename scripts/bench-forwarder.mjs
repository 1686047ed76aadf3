// The baseline of `npm run bench:gateway`: a minimal Fastify forwarder that relays POST /v1/chat/completions
// to the upstream with undici (one kept-alive connection pool) and nothing else — no auth, metering or logs.
// Usage: node scripts/bench-forwarder.mjs <port> <upstream origin>
import Fastify from 'fastify';
import { Pool } from 'undici';

const port = Number(process.argv[2] ?? 3994);
const upstream = new Pool(process.argv[3] ?? 'http://127.0.0.1:3995', { connections: 64 });
const app = Fastify({ logger: false });

app.post('/v1/chat/completions', async (request, reply) => {
  const res = await upstream.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: request.headers.authorization ?? '' },
    body: JSON.stringify(request.body),
  });
  reply.code(res.statusCode).header('content-type', res.headers['content-type'] ?? 'application/json');
  return reply.send(await res.body.text());
});

await app.listen({ port, host: '127.0.0.1' });
process.once(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => upstream.close())
      .then(() => process.exit(0)),
);
