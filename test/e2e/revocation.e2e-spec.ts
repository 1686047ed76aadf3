import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { ApiKeyAuthenticator } from '../../src/core/auth/api-key-authenticator.js';
import { PrincipalResolver } from '../../src/core/auth/principal-resolver.js';
import { VerifiedTokens } from '../../src/core/auth/verified-tokens.js';
import { EventBus } from '../../src/core/ports/event-bus.js';
import { eventually } from '../helpers/concurrency.js';
import {
  type Account,
  bearer,
  login,
  newTenant,
  newUser,
  superAdmin,
  tenantKey,
  type TenantFixture,
} from '../helpers/factories.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { cloneSharedTemplateDatabase, postgresUrl, type TestDatabase } from '../helpers/test-database.js';

const engine = postgresUrl() ? 'PostgreSQL' : 'PGlite';

interface Mode {
  name: string;
  env: Record<string, string | undefined>;
  /** How long instance 2 may keep answering from its cache after the change committed on instance 1. */
  withinMs: number;
  pubSub: boolean;
}

/**
 * Without Redis each instance only has its cache TTL to notice another's change; with
 * Redis the TTL is a minute, so only the published event can make instance 2 refuse in time.
 */
const MODES: Mode[] = [
  {
    name: 'no Redis: the cache TTL backstop',
    env: { REDIS_URL: undefined, PRINCIPAL_CACHE_TTL_MS: '500' },
    // The TTL, then one request that reads the database again (slow on a busy machine).
    withinMs: 1500,
    pubSub: false,
  },
  ...(process.env.REDIS_URL
    ? [
        {
          name: 'Redis pub/sub',
          env: { REDIS_URL: process.env.REDIS_URL, PRINCIPAL_CACHE_TTL_MS: '60000' },
          withinMs: 1000,
          pubSub: true,
        },
      ]
    : []),
];

/** A credential and the request that shows whether it still works. */
interface Credential {
  kind: 'key' | 'token';
  value: string;
  probe: InjectOptions;
}

interface Scenario {
  /** Creates what is revoked, on instance 1; returns the credential and the change to make there. */
  arrange(i1: TestApp): Promise<{ credential: Credential; change: () => Promise<LightMyRequestResponse> }>;
  /** Status and code instance 2 must answer once it has noticed. */
  refused: [number, string];
}

const me = (headers: Record<string, string>): InjectOptions => ({ method: 'GET', url: '/api/v1/auth/me', headers });
const asToken = (account: Account, probe: InjectOptions = me(bearer(account.accessToken))): Credential => ({
  kind: 'token',
  value: account.accessToken,
  probe,
});
const asKey = (key: string, probe: InjectOptions = me({ 'x-api-key': key })): Credential => ({
  kind: 'key',
  value: key,
  probe,
});
const listUsers = (headers: Record<string, string>): InjectOptions => ({
  method: 'GET',
  url: '/api/v1/users',
  headers,
});

async function personalKey(t: TestApp, owner: Account): Promise<{ id: string; key: string }> {
  const res = await t.http({
    method: 'POST',
    url: '/api/v1/api-keys',
    headers: bearer(owner.accessToken),
    payload: { name: 'k' },
  });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function tenantWithKey(t: TestApp): Promise<TenantFixture & { key: string }> {
  const tenant = await newTenant(t);
  return { ...tenant, key: (await tenantKey(t, tenant)).key };
}

const patchUser = (t: TestApp, actor: Account, id: string, payload: object) => () =>
  t.http({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: bearer(actor.accessToken), payload });

const suspend = (t: TestApp, tenantId: string) => async () => {
  const root = await superAdmin(t);
  return t.http({
    method: 'POST',
    url: `/api/v1/tenants/${tenantId}/suspend`,
    headers: bearer(root.accessToken),
    payload: { reason: 'revocation test' },
  });
};

const SCENARIOS: Record<string, Scenario> = {
  'a personal API key revoked': {
    arrange: async (i1) => {
      const member = await newUser(i1, await newTenant(i1), 'member');
      const { id, key } = await personalKey(i1, member);
      const change = () =>
        i1.http({ method: 'DELETE', url: `/api/v1/api-keys/${id}`, headers: bearer(member.accessToken) });
      return { credential: asKey(key), change };
    },
    refused: [401, 'API_KEY_REVOKED'],
  },
  'a user disabled (their access token)': {
    arrange: async (i1) => {
      const tenant = await newTenant(i1);
      const member = await newUser(i1, tenant, 'member');
      return { credential: asToken(member), change: patchUser(i1, tenant.admin, member.id, { status: 'disabled' }) };
    },
    refused: [401, 'TOKEN_INVALID'],
  },
  'a user disabled (their API key)': {
    arrange: async (i1) => {
      const tenant = await newTenant(i1);
      const member = await newUser(i1, tenant, 'member');
      const { key } = await personalKey(i1, member);
      return { credential: asKey(key), change: patchUser(i1, tenant.admin, member.id, { status: 'disabled' }) };
    },
    refused: [401, 'API_KEY_REVOKED'],
  },
  'a user demoted (their access token)': {
    arrange: async (i1) => {
      const tenant = await newTenant(i1);
      const admin = await newUser(i1, tenant, 'tenant_admin');
      return {
        credential: asToken(admin, listUsers(bearer(admin.accessToken))),
        change: patchUser(i1, tenant.admin, admin.id, { role: 'member' }),
      };
    },
    refused: [403, 'PERMISSION_DENIED'],
  },
  'a user demoted (their API key)': {
    arrange: async (i1) => {
      const tenant = await newTenant(i1);
      const admin = await newUser(i1, tenant, 'tenant_admin');
      const { key } = await personalKey(i1, admin);
      return {
        credential: asKey(key, listUsers({ 'x-api-key': key })),
        change: patchUser(i1, tenant.admin, admin.id, { role: 'viewer' }),
      };
    },
    refused: [403, 'PERMISSION_DENIED'],
  },
  'a user deleted': {
    arrange: async (i1) => {
      const tenant = await newTenant(i1);
      const member = await newUser(i1, tenant, 'member');
      const change = () =>
        i1.http({ method: 'DELETE', url: `/api/v1/users/${member.id}`, headers: bearer(tenant.admin.accessToken) });
      return { credential: asToken(member), change };
    },
    refused: [401, 'TOKEN_INVALID'],
  },
  'a password changed': {
    arrange: async (i1) => {
      const member = await newUser(i1, await newTenant(i1), 'member');
      const elsewhere = await login(i1, member.email, member.password);
      const change = () =>
        i1.http({
          method: 'POST',
          url: '/api/v1/auth/change-password',
          headers: bearer(elsewhere.accessToken),
          payload: { currentPassword: member.password, newPassword: `another passphrase ${randomUUID()}` },
        });
      return { credential: asToken(member), change };
    },
    refused: [401, 'TOKEN_INVALID'],
  },
  'sign-out everywhere': {
    arrange: async (i1) => {
      const member = await newUser(i1, await newTenant(i1), 'member');
      const elsewhere = await login(i1, member.email, member.password);
      const change = () =>
        i1.http({ method: 'POST', url: '/api/v1/auth/logout-all', headers: bearer(elsewhere.accessToken) });
      return { credential: asToken(member), change };
    },
    refused: [401, 'TOKEN_INVALID'],
  },
  'sign-out of one sign-in': {
    arrange: async (i1) => {
      const member = await newUser(i1, await newTenant(i1), 'member');
      const change = () =>
        i1.http({
          method: 'POST',
          url: '/api/v1/auth/logout',
          headers: bearer(member.accessToken),
          payload: { refreshToken: member.refreshToken },
        });
      return { credential: asToken(member), change };
    },
    refused: [401, 'TOKEN_INVALID'],
  },
  'a tenant suspended (a user of it)': {
    arrange: async (i1) => {
      const tenant = await newTenant(i1);
      return { credential: asToken(tenant.admin), change: suspend(i1, tenant.id) };
    },
    refused: [403, 'TENANT_SUSPENDED'],
  },
  'a tenant suspended (its tenant key)': {
    arrange: async (i1) => {
      const tenant = await tenantWithKey(i1);
      return { credential: asKey(tenant.key), change: suspend(i1, tenant.id) };
    },
    refused: [403, 'TENANT_SUSPENDED'],
  },
  'a tenant key regenerated': {
    arrange: async (i1) => {
      const tenant = await tenantWithKey(i1);
      const change = () =>
        i1.http({
          method: 'POST',
          url: `/api/v1/tenants/${tenant.id}/regenerate-api-key`,
          headers: bearer(tenant.admin.accessToken),
          payload: { graceSeconds: 0 },
        });
      return { credential: asKey(tenant.key), change };
    },
    refused: [401, 'API_KEY_REVOKED'],
  },
};

/** Whether instance `t` would answer the credential from its cache, without a database round trip. */
function cachedOn(t: TestApp, credential: Credential): boolean {
  if (credential.kind === 'key') return t.app.get(ApiKeyAuthenticator).cached(credential.value) !== undefined;
  const claims = t.app.get(VerifiedTokens).get(credential.value);
  return claims !== undefined && t.app.get(PrincipalResolver).cached(claims) !== undefined;
}

/** Uses the credential on `t` until `t` holds it in its cache. */
async function warm(t: TestApp, credential: Credential): Promise<void> {
  await eventually('the credential is cached', async () => {
    const res = await t.http(credential.probe);
    expect(res.statusCode).toBe(200);
    return cachedOn(t, credential) || undefined;
  });
}

describe.each(MODES)(`revocation across two instances on one ${engine} database ($name)`, (mode) => {
  let database: TestDatabase;
  let i1: TestApp;
  let i2: TestApp;
  beforeAll(async () => {
    database = await cloneSharedTemplateDatabase();
    i1 = await createTestApp(mode.env, [], { database });
    i2 = await createTestApp(mode.env, [], { database });
    if (mode.pubSub) {
      // Instance 2 subscribes while it starts: wait until an event from instance 1 reaches it.
      const nonce = randomUUID();
      let heard = false;
      i2.app.get(EventBus).subscribe('test-ping', (message) => {
        if ((message as { nonce?: string }).nonce === nonce) heard = true;
      });
      await eventually(
        'instance 2 hears instance 1',
        async () => {
          await i1.app.get(EventBus).publish('test-ping', { nonce });
          return heard || undefined;
        },
        { everyMs: 50 },
      );
    }
  });
  afterAll(async () => {
    await i1?.close();
    await i2?.close();
    await database?.drop();
  });

  it('runs two instances that do not share a cache', async () => {
    expect(i1.app).not.toBe(i2.app);
    expect(i1.app.get(VerifiedTokens)).not.toBe(i2.app.get(VerifiedTokens));
    const tenant = await newTenant(i1);
    expect((await i2.http(me(bearer(tenant.admin.accessToken)))).statusCode).toBe(200);
    expect(cachedOn(i2, asToken(tenant.admin))).toBe(true);
    expect(cachedOn(i1, asToken(tenant.admin))).toBe(false);
  });

  it.each(Object.keys(SCENARIOS))(`instance 2 refuses within ${mode.withinMs} ms: %s on instance 1`, async (name) => {
    const scenario = SCENARIOS[name];
    const { credential, change } = await scenario.arrange(i1);
    await warm(i2, credential);

    const changed = await change();
    expect(changed.statusCode).toBeLessThan(300);
    // Instance 1 applied its own change at once.
    const local = await i1.http(credential.probe);
    expect([local.statusCode, local.json().code]).toEqual(scenario.refused);

    const remote = await eventually(
      `instance 2 refuses after: ${name}`,
      async () => {
        const res = await i2.http(credential.probe);
        return res.statusCode === 200 ? undefined : res;
      },
      { withinMs: mode.withinMs },
    );
    expect([remote.statusCode, remote.json().code]).toEqual(scenario.refused);
  });

  if (mode.pubSub) {
    it('keeps serving a change that raised no event from the cache: the refusals above are the event’s doing', async () => {
      const member = await newUser(i1, await newTenant(i1), 'member');
      const { id, key } = await personalKey(i1, member);
      const credential = asKey(key);
      await warm(i2, credential);
      await i1.dataSource.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [id]);
      expect((await i2.http(credential.probe)).statusCode).toBe(200);
      expect(cachedOn(i2, credential)).toBe(true);
    });

    it('keeps another deployment on the same Redis (another REDIS_PREFIX) out of these events', async () => {
      const prefix = `${i1.database.redisPrefix}-other`;
      const other = await createTestApp({ ...mode.env, REDIS_PREFIX: prefix }, [], { database });
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        // The other deployment listens, on its own channel.
        await eventually('the other deployment subscribes', async () => {
          const [, count] = (await redis.pubsub('NUMSUB', `${prefix}:events:principals-changed`)) as [string, number];
          return count > 0 || undefined;
        });
        const tenant = await newTenant(i1);
        const credential = asToken(tenant.admin);
        await warm(i2, credential);
        await warm(other, credential);

        const out = await i1.http({
          method: 'POST',
          url: '/api/v1/auth/logout-all',
          headers: bearer(tenant.admin.accessToken),
        });
        expect(out.statusCode).toBeLessThan(300);
        await eventually(
          'instance 2 hears the change',
          async () => (await i2.http(credential.probe)).statusCode === 401 || undefined,
        );
        expect(cachedOn(other, credential)).toBe(true);
      } finally {
        await redis.quit();
        await other.close();
      }
    });
  }
});
