/** What a failed upstream call means for the key and the call. */
export type Failure =
  | { kind: 'retry'; message: string; status?: number; retryAfterMs?: number; timeout: boolean }
  | { kind: 'refused-key'; message: string; status: number }
  | { kind: 'rejected'; message: string; status: number }
  | { kind: 'aborted' };

/** Retry-After (seconds or an HTTP date), or the retry-after-ms some upstreams send, in milliseconds. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms)) return Math.max(0, ms);
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
