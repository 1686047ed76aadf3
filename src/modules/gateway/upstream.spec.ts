import { describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { coolDownMs } from './key-health.js';
import { safeMessage } from './failure.js';
import { classify, failureError } from './upstream.js';

const apiError = (status: number, headers: Record<string, string> = {}, message = 'upstream says no') =>
  OpenAI.APIError.generate(status, { error: { message } }, message, new Headers(headers));

describe('upstream failures', () => {
  it('cools keys on 429, 5xx and timeouts (with Retry-After), disables them on 401/403, passes 4xx to the caller', () => {
    expect(classify(apiError(429, { 'retry-after': '7' }))).toMatchObject({
      kind: 'retry',
      status: 429,
      retryAfterMs: 7000,
    });
    expect(classify(apiError(503))).toMatchObject({ kind: 'retry', status: 503, timeout: false });
    expect(classify(apiError(401))).toMatchObject({ kind: 'refused-key', status: 401 });
    expect(classify(apiError(403))).toMatchObject({ kind: 'refused-key', status: 403 });
    expect(classify(apiError(400))).toMatchObject({ kind: 'rejected', status: 400 });
    expect(classify(new OpenAI.APIConnectionTimeoutError())).toMatchObject({ kind: 'retry', timeout: true });
    expect(classify(new OpenAI.APIUserAbortError())).toEqual({ kind: 'aborted' });
  });

  it('maps what is left after retries to the documented errors, without the upstream’s keys', () => {
    expect(failureError(classify(apiError(500))).code).toBe('PROVIDER_ERROR');
    expect(failureError(classify(apiError(500))).status).toBe(502);
    expect(failureError(classify(new OpenAI.APIConnectionTimeoutError())).status).toBe(504);
    const rejected = failureError(classify(apiError(400, {}, 'bad tool schema')));
    expect({ code: rejected.code, status: rejected.status }).toEqual({ code: 'PROVIDER_REJECTED', status: 400 });
    expect(rejected.message).toContain('bad tool schema');
    expect(safeMessage('Incorrect API key provided: sk-proj-abcdefghijklmnop. Check it.')).toBe(
      'Incorrect API key provided: [redacted]. Check it.',
    );
  });

  it('backs off exponentially with jitter, capped at five minutes, and never less than Retry-After asks (up to an hour)', () => {
    const low = () => 0;
    const high = () => 0.999_999;
    expect(coolDownMs(0, undefined, low)).toBe(500);
    expect(coolDownMs(0, undefined, high)).toBeLessThan(1000);
    expect(coolDownMs(3, undefined, low)).toBe(4000);
    expect(coolDownMs(3, undefined, high)).toBeLessThan(8000);
    expect(coolDownMs(30, undefined, high)).toBeLessThanOrEqual(300_000);
    expect(coolDownMs(0, 120_000, low)).toBe(120_000);
    expect(coolDownMs(0, 3_600_000, low)).toBe(3_600_000);
    expect(coolDownMs(0, 86_400_000, low)).toBe(3_600_000);
  });
});
