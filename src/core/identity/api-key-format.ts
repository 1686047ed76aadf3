import { createHash, randomBytes } from 'node:crypto';

/**
 * `atr_live_<32 chars base64url: 192 random bits><6 hex chars checksum>`. The
 * checksum (first 24 bits of SHA-256 of the random part) lets malformed or
 * mistyped keys be refused before any lookup.
 */
export const API_KEY_PREFIX = 'atr_live_';
const BODY = /^atr_live_([A-Za-z0-9_-]{32})([0-9a-f]{6})$/;
const VISIBLE = API_KEY_PREFIX.length + 8;

const checksum = (random: string) => createHash('sha256').update(random).digest('hex').slice(0, 6);

export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const random = randomBytes(24).toString('base64url');
  const key = `${API_KEY_PREFIX}${random}${checksum(random)}`;
  return { key, prefix: key.slice(0, VISIBLE), hash: hashApiKey(key) };
}

export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX);
}

/** True when the key has the right shape and checksum. */
export function isWellFormedApiKey(value: string): boolean {
  const match = BODY.exec(value);
  return match !== null && checksum(match[1]) === match[2];
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
