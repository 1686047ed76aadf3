import { describe, expect, it, jest } from '@jest/globals';
import { gracefulShutdown } from '../../src/shutdown.js';
import { expectSlowRequest, ProbeModule } from '../helpers/probe.module.js';
import { createTestApp } from '../helpers/test-app.js';

describe('graceful shutdown', () => {
  it('finishes in-flight requests, refuses new ones, closes the database and exits 0', async () => {
    const t = await createTestApp({}, [ProbeModule]);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const base = await t.app.getUrl();
    const exit = jest.fn<(code: number) => void>();

    const arrived = expectSlowRequest();
    const inFlight = fetch(`${base}/api/v1/probe/slow`);
    await arrived;
    const done = gracefulShutdown(t.app, 5000, exit)('SIGTERM');

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await done;
    expect(exit).toHaveBeenCalledWith(0);
    expect(t.dataSource.isInitialized).toBe(false);
    await expect(fetch(`${base}/health/live`)).rejects.toThrow();
    await t.database.drop();
  });
});
