import OpenAI from 'openai';
import { GatewayError, GatewayErrorCode } from './gateway.errors.js';

/** What a failed upstream call means for the key and the call. */
export type Failure =
  | { kind: 'retry'; message: string; status?: number; retryAfterMs?: number; timeout: boolean }
  | { kind: 'refused-key'; message: string; status: number }
  | { kind: 'rejected'; message: string; status: number }
  | { kind: 'aborted' };

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The upstream's own words, shortened, with nothing that looks like a key. */
export function safeMessage(text: string): string {
  return text.replace(/\b(sk|AIza|key)[-_A-Za-z0-9]{8,}/g, '[redacted]').slice(0, 300);
}

/** Classifies an error of the OpenAI SDK (or of the local provider) for the key pool and the caller. */
export function classify(err: unknown): Failure {
  if (err instanceof OpenAI.APIUserAbortError) return { kind: 'aborted' };
  if (err instanceof OpenAI.APIConnectionTimeoutError)
    return { kind: 'retry', message: 'The upstream timed out', timeout: true };
  if (err instanceof OpenAI.APIConnectionError)
    return { kind: 'retry', message: `The upstream is unreachable: ${safeMessage(err.message)}`, timeout: false };
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const message = safeMessage(err.message);
    if (err.status === 401 || err.status === 403) return { kind: 'refused-key', message, status: err.status };
    if (err.status === 408 || err.status === 409 || err.status === 429 || err.status >= 500) {
      return { kind: 'retry', message, status: err.status, retryAfterMs: retryAfterMs(err.headers), timeout: false };
    }
    return { kind: 'rejected', message, status: err.status };
  }
  return { kind: 'retry', message: safeMessage(err instanceof Error ? err.message : String(err)), timeout: false };
}

/** The caller's error once retries are spent (or a request the upstream refuses as such). */
export function failureError(failure: Failure): GatewayError {
  switch (failure.kind) {
    case 'rejected':
      return new GatewayError(
        GatewayErrorCode.PROVIDER_REJECTED,
        `The provider refused the request: ${failure.message}`,
        {
          upstreamStatus: failure.status,
        },
      );
    case 'retry':
      if (failure.timeout)
        return new GatewayError(GatewayErrorCode.PROVIDER_TIMEOUT, 'The provider did not answer in time.');
      return new GatewayError(GatewayErrorCode.PROVIDER_ERROR, `The provider failed: ${failure.message}`, {
        ...(failure.status !== undefined && { upstreamStatus: failure.status }),
      });
    case 'refused-key':
      return new GatewayError(GatewayErrorCode.PROVIDER_ERROR, 'The provider refused its keys.', {
        upstreamStatus: failure.status,
      });
    case 'aborted':
      return new GatewayError(GatewayErrorCode.PROVIDER_TIMEOUT, 'The call was cancelled.');
  }
}
