import OpenAI from 'openai';
import { classifyAnthropic } from './anthropic/anthropic-chat.js';
import { classifyGemini } from './gemini/gemini-media.js';
import { type Failure, retryAfterMs, safeMessage } from './failure.js';
import { GatewayError, GatewayErrorCode } from './gateway.errors.js';

/** Classifies an error of a provider SDK (or of the local provider) for the key pool and the caller. */
export function classify(err: unknown): Failure {
  const known = classifyAnthropic(err) ?? classifyGemini(err);
  if (known) return known;
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
