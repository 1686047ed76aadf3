import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import { hashToken } from '../../src/core/auth/token.service.js';
import { hashApiKey } from '../../src/core/identity/api-key-format.js';
import { eventually, parallel, RACE_TEST_TIMEOUT_MS, ROUNDS, rounds } from '../helpers/concurrency.js';
import { type Account, bearer, login, newTenant, newUser, superAdmin, unique } from '../helpers/factories.js';
import { appSessions, openSession, tablesWrittenBy } from '../helpers/postgres.js';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.js';
import { startLine, StartLineModule } from '../helpers/start-line.module.js';
import { createTestApp, SUPER_ADMIN, type TestApp } from '../helpers/test-app.js';
import { postgresUrl } from '../helpers/test-database.js';

const engine = postgresUrl() ? 'PostgreSQL' : 'PGlite';
jest.setTimeout(RACE_TEST_TIMEOUT_MS);

/** The problem document and headers of a response, without what differs per request. */
function anonymised(res: LightMyRequestResponse) {
  const { 'x-request-id': requestId, date: _date, ...headers } = res.headers;
  return { status: res.statusCode, headers, body: res.body.replaceAll(String(requestId), '<request id>') };
}

describe(`identity races on ${engine}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ LOGIN_MAX_FAILURES: '10', LOGIN_LOCKOUT_SECONDS: '60' }, [StartLineModule]);
  });
  afterAll(() => t.close());

  const me = (headers: Record<string, string>) => t.http({ method: 'GET', url: '/api/v1/auth/me', headers });
  const attemptLogin = (email: string, password: string, tenant?: string) =>
    t.http({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password, tenant } });
  const refresh = (refreshToken: string) =>
    t.http({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });

  describe('the last active tenant admin', () => {
    type Move = (actor: Account, target: Account, race: Record<string, string>) => Promise<LightMyRequestResponse>;
    const patch = (actor: Account, target: Account, race: Record<string, string>, payload: object) =>
      t.http({
        method: 'PATCH',
        url: `/api/v1/users/${target.id}`,
        headers: { ...bearer(actor.accessToken), ...race },
        payload,
      });
    const moves: Record<string, Move> = {
      demotes: (actor, target, race) => patch(actor, target, race, { role: 'member' }),
      disables: (actor, target, race) => patch(actor, target, race, { status: 'disabled' }),
      deletes: (actor, target, race) =>
        t.http({
          method: 'DELETE',
          url: `/api/v1/users/${target.id}`,
          headers: { ...bearer(actor.accessToken), ...race },
        }),
      'hard-deletes': (actor, target, race) =>
        t.http({
          method: 'DELETE',
          url: `/api/v1/users/${target.id}?hard=true`,
          headers: { ...bearer(actor.accessToken), ...race },
        }),
    };
    const pairs = Object.keys(moves).flatMap((a) => Object.keys(moves).map((b) => [a, b] as const));

    it(`keeps exactly one when two admins remove each other at once (${pairs.length} pairings, ${pairs.length * 2} rounds)`, async () => {
      await rounds(async (n) => {
        const [moveA, moveB] = pairs[n % pairs.length];
        const tenant = await newTenant(t);
        const a = tenant.admin;
        const b = await newUser(t, tenant, 'tenant_admin');
        // Both are admins when they start: each request passes the guard before either change is made.
        const race = startLine(`last-admin-${tenant.id}`);
        const [byA, byB] = await Promise.all([moves[moveA](a, b, race), moves[moveB](b, a, race)]);

        const round = `round ${n}: A ${moveA} B -> ${byA.statusCode}, B ${moveB} A -> ${byB.statusCode}`;
        const won = [byA, byB].filter((r) => r.statusCode < 300);
        const lost = [byA, byB].filter((r) => r.statusCode >= 300);
        expect({ round, won: won.length, lost: lost.map((r) => [r.statusCode, r.json().code]) }).toEqual({
          round,
          won: 1,
          lost: [[409, 'LAST_TENANT_ADMIN']],
        });

        const winner = won[0] === byA ? a : b;
        const admins = await t.dataSource.query(
          `SELECT id FROM users
              WHERE tenant_id = $1 AND role = 'tenant_admin' AND status = 'active' AND deleted_at IS NULL`,
          [tenant.id],
        );
        expect(admins).toEqual([{ id: winner.id }]);
        expect((await me(bearer(winner.accessToken))).json().permissions).toContain('users:write');
      }, pairs.length * 2);
    });
  });

  describe('sign-in lockout (LOGIN_MAX_FAILURES=10)', () => {
    const failuresOf = async (userId: string) =>
      (await t.dataSource.query(`SELECT failed_logins, locked_until FROM users WHERE id = $1`, [userId]))[0] as {
        failed_logins: number;
        locked_until: Date | null;
      };

    it('counts 29 parallel wrong passwords exactly, then refuses the right one like a wrong one', async () => {
      await rounds(async () => {
        const tenant = await newTenant(t);
        const user = await newUser(t, tenant, 'member');
        const wrong = await parallel(29, (i) => attemptLogin(user.email, `wrong password ${i}`));
        expect(wrong.map((r) => [r.statusCode, r.json().code])).toEqual(Array(29).fill([401, 'INVALID_CREDENTIALS']));
        const counted = await failuresOf(user.id);
        expect(counted.failed_logins).toBe(29);
        expect(new Date(counted.locked_until!).getTime()).toBeGreaterThan(Date.now() + 50_000);

        const right = await attemptLogin(user.email, user.password);
        expect(anonymised(right)).toEqual(anonymised(wrong[0]));
        expect((await failuresOf(user.id)).failed_logins).toBe(29);
        expect(await t.dataSource.query(`SELECT id FROM auth_sessions WHERE subject_id = $1`, [user.id])).toHaveLength(
          1,
        );
      });
    });

    it('counts 200 parallel wrong guesses exactly and locks the account', async () => {
      await rounds(async () => {
        const tenant = await newTenant(t);
        const user = await newUser(t, tenant, 'viewer');
        const guesses = await parallel(200, (i) => attemptLogin(user.email, `guess number ${i}`));
        expect(new Set(guesses.map((r) => r.statusCode))).toEqual(new Set([401]));
        const row = await failuresOf(user.id);
        expect(row.failed_logins).toBe(200);
        expect(new Date(row.locked_until!).getTime()).toBeGreaterThan(Date.now() + 50_000);
        expect((await attemptLogin(user.email, user.password)).statusCode).toBe(401);
      });
    });
  });

  describe('refresh-token reuse', () => {
    it('lets at most one of two parallel uses win, then revokes the whole sign-in, the winner included', async () => {
      await rounds(async () => {
        const tenant = await newTenant(t);
        const user = await newUser(t, tenant, 'member');
        const other = await login(t, user.email, user.password);
        const signIn = await login(t, user.email, user.password);
        // Cached now: the revocation must reach the cache, not only the database.
        expect((await me(bearer(signIn.accessToken))).statusCode).toBe(200);

        const race = await parallel(2, () => refresh(signIn.refreshToken));
        const winners = race.filter((r) => r.statusCode === 200);
        expect(winners.length).toBeLessThanOrEqual(1);
        for (const loser of race.filter((r) => r.statusCode !== 200)) {
          expect([loser.statusCode, loser.json().code]).toEqual([401, 'REFRESH_TOKEN_REUSED']);
        }

        const minted = winners.map((r) => r.json() as { accessToken: string; refreshToken: string });
        for (const refreshToken of [signIn.refreshToken, ...minted.map((m) => m.refreshToken)]) {
          expect((await refresh(refreshToken)).statusCode).toBe(401);
        }
        for (const accessToken of [signIn.accessToken, ...minted.map((m) => m.accessToken)]) {
          expect((await me(bearer(accessToken))).statusCode).toBe(401);
        }
        const family = await t.dataSource.query(
          `SELECT count(*)::int AS tokens, count(revoked_at)::int AS revoked FROM auth_sessions
            WHERE family_id = (SELECT family_id FROM auth_sessions WHERE token_hash = $1)`,
          [hashToken(signIn.refreshToken)],
        );
        expect(family).toEqual([{ tokens: 1 + minted.length, revoked: 1 + minted.length }]);

        // The user's other sign-in is another family and keeps working.
        expect((await me(bearer(other.accessToken))).statusCode).toBe(200);
        expect((await refresh(other.refreshToken)).statusCode).toBe(200);
      });
    });
  });

  describe('tenant key regeneration', () => {
    it('leaves exactly one live tenant key, the newest, after 10 parallel regenerations with graceSeconds 0', async () => {
      const root = await superAdmin(t);
      await rounds(async () => {
        const created = await t.http({
          method: 'POST',
          url: '/api/v1/tenants',
          headers: bearer(root.accessToken),
          payload: {
            name: `Keys ${unique()}`,
            admin: { email: `keys-${unique()}@example.test`, name: 'K', password: 'key race admin pw' },
          },
        });
        expect(created.statusCode).toBe(201);
        const tenantId: string = created.json().tenant.id;
        const original: string = created.json().apiKey;
        expect((await me({ 'x-api-key': original })).statusCode).toBe(200);

        const regenerations = await parallel(10, () =>
          t.http({
            method: 'POST',
            url: `/api/v1/tenants/${tenantId}/regenerate-api-key`,
            headers: { ...bearer(root.accessToken), ...startLine(`regenerate-${tenantId}`, 10) },
            payload: { graceSeconds: 0 },
          }),
        );
        expect(regenerations.map((r) => r.statusCode)).toEqual(Array(10).fill(200));

        const rows: { key_hash: string; revoked_at: Date | null }[] = await t.dataSource.query(
          `SELECT key_hash, revoked_at FROM api_keys WHERE tenant_id = $1 AND kind = 'tenant' ORDER BY created_at, id`,
          [tenantId],
        );
        expect(rows).toHaveLength(11);
        const newest = rows[rows.length - 1];
        expect(rows.filter((r) => r.revoked_at === null)).toEqual([newest]);

        const returned: string[] = [original, ...regenerations.map((r) => r.json().key as string)];
        expect(returned.map(hashApiKey)).toContain(newest.key_hash);
        const answers = await Promise.all(
          returned.map(async (key) => [key, (await me({ 'x-api-key': key })).statusCode]),
        );
        expect(answers).toEqual(returned.map((key) => [key, hashApiKey(key) === newest.key_hash ? 200 : 401]));
      });
    });
  });

  describe('a key with an expiry creating keys', () => {
    const createKey = (headers: Record<string, string>, payload: object) =>
      t.http({ method: 'POST', url: '/api/v1/api-keys', headers, payload });

    it('passes its expiry on, and refuses a later expiry or more scopes', async () => {
      const tenant = await newTenant(t);
      const admin = tenant.admin;
      await rounds(async (n) => {
        const expiresAt = new Date(Date.now() + 3600_000 + n * 1000).toISOString();
        const scopes = ['keys:read', 'keys:write', 'profile:read', 'tenant:read'];
        const name = (what: string) => `r${n} ${what}`;
        const parent = await createKey(bearer(admin.accessToken), { name: name('parent'), scopes, expiresAt });
        expect(parent.statusCode).toBe(201);
        const key = { 'x-api-key': parent.json().key as string };
        const before = Date.now();
        const sooner = new Date(before + 600_000).toISOString();
        const later = new Date(Date.parse(expiresAt) + 60_000).toISOString();

        const [inherits, narrower, outlives, widens, noExpiry] = await Promise.all([
          createKey(key, { name: name('inherits') }),
          createKey(key, { name: name('sooner'), scopes: ['keys:read'], expiresAt: sooner }),
          createKey(key, { name: name('outlives'), expiresAt: later }),
          // The admin holds users:read, the key does not: what the key may do is what counts.
          createKey(key, { name: name('widens'), scopes: ['keys:write', 'users:read'] }),
          createKey(bearer(admin.accessToken), { name: name('from a session') }),
        ]);
        expect([inherits.statusCode, inherits.json().expiresAt, [...inherits.json().scopes].sort()]).toEqual([
          201,
          expiresAt,
          scopes,
        ]);
        expect([narrower.statusCode, narrower.json().expiresAt]).toEqual([201, sooner]);
        expect([outlives.statusCode, outlives.json().code]).toEqual([403, 'EXPIRY_BEYOND_CREATOR']);
        expect([widens.statusCode, widens.json().code]).toEqual([403, 'SCOPE_NOT_HELD']);
        expect([noExpiry.statusCode, noExpiry.json().expiresAt]).toEqual([201, null]);

        // A key made by an inheriting key inherits the same end, and the refusals wrote nothing.
        const grandchild = await createKey({ 'x-api-key': inherits.json().key }, { name: name('grandchild') });
        expect([grandchild.statusCode, grandchild.json().expiresAt]).toEqual([201, expiresAt]);
        const stored: { name: string; expires_at: Date | null }[] = await t.dataSource.query(
          `SELECT name, expires_at FROM api_keys WHERE user_id = $1 AND name LIKE $2 ORDER BY name`,
          [admin.id, `r${n} %`],
        );
        expect(stored.map((r) => [r.name, r.expires_at && new Date(r.expires_at).toISOString()])).toEqual([
          [name('from a session'), null],
          [name('grandchild'), expiresAt],
          [name('inherits'), expiresAt],
          [name('parent'), expiresAt],
          [name('sooner'), sooner],
        ]);
      });
    });
  });
});

describe(`tenant creation is one unit of work on ${engine}`, () => {
  let t: TestApp;
  let smtp: SmtpSink;
  let root: Account;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await createTestApp({ SMTP_URL: smtp.url }, [StartLineModule]);
    root = await superAdmin(t);
    // The seam: writing the tenant key of a tenant named "Doomed …" fails, after the tenant,
    // its admin, the invitation token and the invitation mail have been written in the same transaction.
    await t.dataSource.query(`
      CREATE FUNCTION test_refuse_doomed_tenant_key() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM tenants WHERE id = NEW.tenant_id AND name LIKE 'Doomed %') THEN
          RAISE EXCEPTION 'injected failure: the tenant key of a doomed tenant cannot be written';
        END IF;
        RETURN NEW;
      END $$`);
    await t.dataSource.query(`
      CREATE TRIGGER test_refuse_doomed_tenant_key BEFORE INSERT ON api_keys
      FOR EACH ROW WHEN (NEW.kind = 'tenant') EXECUTE FUNCTION test_refuse_doomed_tenant_key()`);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const createTenant = (name: string, slug: string, admin: { email: string; password?: string }, headers = {}) =>
    t.http({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: { ...bearer(root.accessToken), ...headers },
      payload: { name, slug, admin: { name: 'First Admin', ...admin } },
    });

  const TABLES = ['tenants', 'users', 'api_keys', 'one_time_tokens', 'mail_outbox'] as const;
  async function rowCounts(): Promise<Record<(typeof TABLES)[number], number>> {
    const [row] = await t.dataSource.query(
      `SELECT ${TABLES.map((table) => `(SELECT count(*)::int FROM ${table}) AS ${table}`).join(', ')}`,
    );
    return row;
  }
  async function traces(slug: string, email: string) {
    const [row] = await t.dataSource.query(
      `SELECT (SELECT count(*)::int FROM tenants WHERE slug = $1) AS tenants,
              (SELECT count(*)::int FROM users WHERE email = $2) AS users,
              (SELECT count(*)::int FROM mail_outbox WHERE to_address = $2) AS mails,
              (SELECT count(*)::int FROM one_time_tokens o JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id
                WHERE u.email = $2) AS tokens,
              (SELECT count(*)::int FROM api_keys k JOIN tenants x ON x.id = k.tenant_id WHERE x.slug = $1) AS keys`,
      [slug, email],
    );
    return { ...row, delivered: smtp.to(email).length };
  }
  const none = { tenants: 0, users: 0, mails: 0, tokens: 0, keys: 0, delivered: 0 };
  /** A creation that committed: one of each, and its mail delivered. */
  const complete = { tenants: 1, users: 1, mails: 1, tokens: 1, keys: 1, delivered: 1 };

  it('leaves nothing of a creation that fails midway, and the slug stays free', async () => {
    await rounds(async () => {
      const u = unique();
      const doomed = { slug: `doomed-${u}`, email: `doomed-${u}@example.test` };
      const common = { slug: `common-${u}`, email: `common-${u}@example.test` };
      const race = { slug: `race-${u}`, emails: [`race-${u}-a@example.test`, `race-${u}-b@example.test`] };
      const before = await rowCounts();

      const [failed, rejected, ...racing] = await Promise.all([
        createTenant(`Doomed ${u}`, doomed.slug, { email: doomed.email }),
        createTenant(`Common ${u}`, common.slug, { email: common.email, password: 'qwertyuiop' }),
        ...race.emails.map((email) =>
          createTenant(`Race ${u}`, race.slug, { email }, startLine(`create-${race.slug}`)),
        ),
      ]);
      expect(failed.statusCode).toBe(500);
      expect(failed.body).not.toMatch(/injected|doomed|api_keys/i);
      expect([rejected.statusCode, rejected.json().code]).toEqual([400, 'PASSWORD_REJECTED']);
      expect(racing.map((r) => r.statusCode).sort()).toEqual([201, 409]);

      const winner = race.emails[racing.findIndex((r) => r.statusCode === 201)];
      const loser = race.emails.find((email) => email !== winner)!;
      expect(await traces(doomed.slug, doomed.email)).toEqual(none);
      expect(await traces(common.slug, common.email)).toEqual(none);
      expect(await traces(race.slug, loser)).toEqual({ ...none, tenants: 1, keys: 1 });
      expect(await traces(race.slug, winner)).toEqual(complete);
      expect(await rowCounts()).toEqual({
        tenants: before.tenants + 1,
        users: before.users + 1,
        api_keys: before.api_keys + 1,
        one_time_tokens: before.one_time_tokens + 1,
        mail_outbox: before.mail_outbox + 1,
      });

      for (const { slug, email } of [doomed, common]) {
        const again = await createTenant(`Retried ${u}`, slug, { email, password: `a fine passphrase ${u}` });
        expect([again.statusCode, again.json().tenant?.slug]).toEqual([201, slug]);
      }
    });
  });

  if (postgresUrl()) {
    describe('seen from another PostgreSQL session', () => {
      let locker: pg.Client;
      let observer: pg.Client;
      beforeAll(async () => {
        locker = await openSession(t.database.url!);
        observer = await openSession(t.database.url!);
      });
      afterAll(async () => {
        await locker.end();
        await observer.end();
      });

      /**
       * Starts a creation and holds it where it must write the tenant key: the locker
       * session holds a lock on api_keys that the insert waits for. Returns the app's
       * session (pid) and the pending response.
       */
      async function pausedCreation(slug: string, email: string) {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE');
        const response = createTenant(`Paused ${slug}`, slug, { email });
        const pid = await eventually('the creation waits for the api_keys lock', async () => {
          const waiting = (await appSessions(observer)).filter(
            (s) => s.wait_event_type === 'Lock' && s.query.includes('INSERT INTO "api_keys"'),
          );
          return waiting.length === 1 ? waiting[0].pid : undefined;
        });
        return { pid, response };
      }

      it('shows no row of a paused creation to anyone else, and keeps none when its session is killed', async () => {
        await rounds(async (n) => {
          const u = unique();
          const slug = `paused-${u}`;
          const email = `paused-${u}@example.test`;
          const { pid, response } = await pausedCreation(slug, email);

          // Midway: the tenant, its admin, the invitation token and mail are written, yet invisible and unsent.
          expect(await tablesWrittenBy(observer, pid)).toEqual(
            expect.arrayContaining(['mail_outbox', 'one_time_tokens', 'tenants', 'users']),
          );
          const { rows: seen } = await observer.query(
            `SELECT (SELECT count(*)::int FROM tenants WHERE slug = $1) AS tenants,
                    (SELECT count(*)::int FROM users WHERE email = $2) AS users,
                    (SELECT count(*)::int FROM mail_outbox WHERE to_address = $2) AS mails`,
            [slug, email],
          );
          expect(seen).toEqual([{ tenants: 0, users: 0, mails: 0 }]);
          expect(smtp.to(email)).toHaveLength(0);

          if (n % 2 === 0) {
            // The kill -9 of the database session: the transaction never commits.
            await observer.query('SELECT pg_terminate_backend($1)', [pid]);
            const res = await response;
            await locker.query('COMMIT');
            expect([res.statusCode, res.json().code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
            expect(res.headers['retry-after']).toBeDefined();
            expect(await traces(slug, email)).toEqual(none);
            const again = await createTenant(`Again ${u}`, slug, { email });
            expect([again.statusCode, again.json().tenant?.slug]).toEqual([201, slug]);
            expect(await traces(slug, email)).toEqual(complete);
          } else {
            // Let go, the same transaction commits all of it, and only then is the mail delivered.
            await locker.query('COMMIT');
            const res = await response;
            expect(res.statusCode).toBe(201);
            expect(await traces(slug, email)).toEqual(complete);
          }
        });
      });
    });
  }
});

describe(`the super admin's e-mail on ${engine}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    // Every wrong password below also counts against the platform account: keep it far from a lockout.
    t = await createTestApp({ LOGIN_MAX_FAILURES: '1000' });
  });
  afterAll(() => t.close());

  const attemptLogin = (email: string, password: string, tenant?: string) =>
    t.http({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password, tenant } });
  const kindOf = async (res: LightMyRequestResponse) =>
    (await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(res.json().accessToken) })).json();

  it('cannot be taken over by sign-up: the super password still opens the platform account', async () => {
    await rounds(async (n) => {
      const shadowPassword = `shadow passphrase ${n} ${unique()}`;
      const email = n % 2 === 0 ? SUPER_ADMIN.email : SUPER_ADMIN.email.toUpperCase();
      const signUp = await t.http({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email, password: shadowPassword, name: 'Shadow', tenantName: `Shadow ${n} ${unique()}` },
      });
      expect(signUp.statusCode).toBe(201);
      const shadowTenant: string = (await kindOf(signUp)).tenant.id;

      const [platform, shadow, wrong] = await Promise.all([
        attemptLogin(SUPER_ADMIN.email, SUPER_ADMIN.password),
        attemptLogin(SUPER_ADMIN.email, shadowPassword),
        attemptLogin(SUPER_ADMIN.email, 'not the password of anyone'),
      ]);
      expect(platform.statusCode).toBe(200);
      expect(await kindOf(platform)).toMatchObject({ kind: 'platform_admin', role: 'super_admin', tenant: null });
      expect(shadow.statusCode).toBe(200);
      expect(await kindOf(shadow)).toMatchObject({ kind: 'user', role: 'tenant_admin', tenant: { id: shadowTenant } });
      expect(wrong.statusCode).toBe(401);
    });
    const shadows = await t.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE lower(email) = $1`, [
      SUPER_ADMIN.email,
    ]);
    expect(shadows).toEqual([{ n: ROUNDS }]);
    const [platform] = await t.dataSource.query(`SELECT locked_until FROM platform_admins WHERE email = $1`, [
      SUPER_ADMIN.email,
    ]);
    expect(platform.locked_until).toBeNull();
  });

  it('answers a wrong password byte for byte like an unknown e-mail, wherever the e-mail has accounts', async () => {
    const shared = `shared-${unique()}@example.test`;
    const single = `single-${unique()}@example.test`;
    const [first, second] = [await newTenant(t), await newTenant(t)];
    for (const [tenant, email] of [
      [first, shared],
      [second, shared],
      [first, single],
    ] as const) {
      const res = await t.http({
        method: 'POST',
        url: '/api/v1/users',
        headers: bearer(tenant.admin.accessToken),
        payload: { email, name: 'N', role: 'member', password: `own passphrase ${unique()}` },
      });
      expect(res.statusCode).toBe(201);
    }
    await rounds(async () => {
      const answers = await Promise.all([
        attemptLogin(`nobody-${unique()}@example.test`, 'a wrong password'),
        attemptLogin(SUPER_ADMIN.email, 'a wrong password'),
        attemptLogin(shared, 'a wrong password'),
        attemptLogin(shared, 'a wrong password', second.slug),
        attemptLogin(single, 'a wrong password'),
        // With a tenant named, the platform account is not a candidate: its password opens nothing.
        attemptLogin(SUPER_ADMIN.email, SUPER_ADMIN.password, first.slug),
      ]);
      const [unknown, ...known] = answers.map(anonymised);
      expect(unknown.status).toBe(401);
      for (const answer of known) expect(answer).toEqual(unknown);
    });
  });
});
