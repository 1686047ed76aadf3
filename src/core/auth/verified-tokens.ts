import { Injectable } from '@nestjs/common';
import type { AccessClaims } from './token.service.js';

/**
 * Access tokens whose signature and claims passport-jwt has already verified on
 * this instance, by their exact text, until they expire. A token is immutable,
 * so verifying the same bytes again would give the same answer: repeated use
 * skips the HMAC and parsing and goes straight to the principal cache, where
 * revocation is decided. Bounded: the oldest entry goes when it is full.
 */
@Injectable()
export class VerifiedTokens {
  private static readonly MAX_ENTRIES = 20_000;
  private readonly entries = new Map<string, AccessClaims>();

  get(token: string, now = Date.now()): AccessClaims | undefined {
    const claims = this.entries.get(token);
    if (!claims) return undefined;
    if (claims.exp * 1000 <= now) {
      this.entries.delete(token);
      return undefined;
    }
    return claims;
  }

  add(token: string, claims: AccessClaims): void {
    if (this.entries.size >= VerifiedTokens.MAX_ENTRIES) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(token, claims);
  }
}
