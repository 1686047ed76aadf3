import { Injectable } from '@nestjs/common';
import { type Principal, RequestContext } from '../../core/context/request-context.js';
import { TenantDto } from '../../core/identity/tenant.dto.js';
import type { SignedIn } from './auth.service.js';
import type { MeDto, SignedInDto } from './dto/auth.dto.js';

/** Describes principals for responses; only public fields leave the service. */
@Injectable()
export class MeService {
  /** Cached principals are shared by requests, and so is their description (serialized once). */
  private readonly described = new WeakMap<Principal, string>();

  constructor(private readonly context: RequestContext) {}

  signedIn({ subject, ...tokens }: SignedIn): SignedInDto {
    const account = subject.user ?? subject.admin!;
    const role = subject.user ? subject.user.role : 'super_admin';
    return { ...tokens, user: { id: account.id, email: account.email, name: account.name, role } };
  }

  /**
   * The caller as JSON (a MeDto), from what the guard resolved (and cached)
   * moments ago: no database round trip, and no serialization per request.
   */
  describe(): string {
    const principal = this.context.principal;
    let me = this.described.get(principal);
    if (!me) {
      me = JSON.stringify(this.describePrincipal(principal));
      this.described.set(principal, me);
    }
    return me;
  }

  private describePrincipal(principal: Principal): MeDto {
    const profile = principal.profile;
    return {
      kind: principal.kind,
      user: profile?.user ?? null,
      tenant: profile?.tenant ? TenantDto.from(profile.tenant) : null,
      role: principal.role,
      permissions: [...principal.permissions].sort(),
      apiKey: principal.apiKeyId ? { id: principal.apiKeyId, prefix: principal.keyPrefix! } : null,
    };
  }
}
