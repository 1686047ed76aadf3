// The upstream of `npm run bench:gateway`: an OpenAI-compatible chat endpoint that answers at once with a
// fixed completion (and its usage), so what the benchmark measures is the path in front of it.
// Usage: node scripts/bench-upstream.mjs <port>
import { createServer } from 'node:http';

const reply = (model) =>
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'A short benchmark reply.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
  });

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const { model } = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(reply(model ?? 'bench'));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 3995), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
