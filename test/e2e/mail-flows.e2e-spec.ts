import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SMTPServer } from 'smtp-server';
import { bearer, login, newTenant, userRow } from '../helpers/factories.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

async function lastMailTo(t: TestApp, to: string): Promise<{ subject: string; body: string; token: string }> {
  const [row] = await t.dataSource.query(
    `SELECT subject, body FROM mail_outbox WHERE to_address = $1 ORDER BY created_at DESC LIMIT 1`,
    [to.toLowerCase()],
  );
  expect(row).toBeDefined();
  const token = /atr_ot_[A-Za-z0-9_-]+/.exec(row.body)?.[0];
  expect(token).toBeDefined();
  return { subject: row.subject, body: row.body, token: token! };
}

describe('mail flows', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const post = (url: string, payload: object, headers = {}) =>
    t.http({ method: 'POST', url: `/api/v1${url}`, payload, headers });

  it('invites a user without a password; the invitation works once and activates the account', async () => {
    const tenant = await newTenant(t);
    const created = await post(
      '/users',
      { email: 'invitee@example.test', name: 'Invitee', role: 'member' },
      bearer(tenant.admin.accessToken),
    );
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ status: 'invited', emailVerified: false });
    const row = await userRow(t, created.json().id);
    expect(row!.password_hash).toBeNull();

    const mail = await lastMailTo(t, 'invitee@example.test');
    expect(mail.subject).toMatch(/invited/i);
    const [stored] = await t.dataSource.query(`SELECT token_hash FROM one_time_tokens WHERE user_id = $1`, [
      created.json().id,
    ]);
    expect(stored.token_hash).not.toContain(mail.token);
    expect(JSON.stringify(t.logs.entries)).not.toContain(mail.token);

    const wrongEmail = await post('/auth/register', {
      email: 'other@example.test',
      name: 'X',
      password: 'invitee passphrase',
      invitationToken: mail.token,
    });
    expect(wrongEmail.statusCode).toBe(400);
    const accepted = await post('/auth/register', {
      email: 'invitee@example.test',
      name: 'Invitee Name',
      password: 'invitee passphrase',
      invitationToken: mail.token,
    });
    expect(accepted.statusCode).toBe(201);
    const me = await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(accepted.json().accessToken) });
    expect(me.json()).toMatchObject({ role: 'member', tenant: { id: tenant.id }, user: { name: 'Invitee Name' } });
    expect(await userRow(t, created.json().id)).toMatchObject({
      status: 'active',
      email_verified_at: expect.anything(),
    });

    const again = await post('/auth/register', {
      email: 'invitee@example.test',
      name: 'Again',
      password: 'another passphrase',
      invitationToken: mail.token,
    });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('ONE_TIME_TOKEN_INVALID');
    await login(t, 'invitee@example.test', 'invitee passphrase', tenant.slug);
  });

  it('bulk-invites up to 100 users with one result per row', async () => {
    const tenant = await newTenant(t);
    const res = await post(
      '/users/bulk',
      {
        users: [
          { email: 'b1@example.test', role: 'member' },
          { email: 'b2@example.test', role: 'viewer', name: 'Bee Two' },
          { email: 'b1@example.test', role: 'viewer' },
        ],
      },
      bearer(tenant.admin.accessToken),
    );
    expect(res.statusCode).toBe(200);
    const { results } = res.json();
    expect(results.map((r: { result: string }) => r.result)).toEqual(['invited', 'invited', 'failed']);
    expect(results[2].error.code).toBe('EMAIL_TAKEN');
    expect(results[1].user).toMatchObject({ name: 'Bee Two', role: 'viewer', status: 'invited' });
    expect(
      await t.dataSource.query(
        `SELECT count(*)::int AS n FROM mail_outbox WHERE tenant_id = $1 AND subject LIKE '%invited%'`,
        [tenant.id],
      ),
    ).toEqual([{ n: 2 }]);

    const tooMany = Array.from({ length: 101 }, (_, i) => ({ email: `m${i}@example.test`, role: 'member' }));
    const refused = await post('/users/bulk', { users: tooMany }, bearer(tenant.admin.accessToken));
    expect(refused.statusCode).toBe(400);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE tenant_id = $1`, [tenant.id])).toEqual([
      { n: 3 },
    ]);
  });

  it('resets a password with a mailed single-use token and signs out every session', async () => {
    const tenant = await newTenant(t);
    const unknown = await post('/auth/forgot-password', { email: 'nobody-here@example.test' });
    expect(unknown.statusCode).toBe(202);
    expect(
      await t.dataSource.query(
        `SELECT count(*)::int AS n FROM mail_outbox WHERE to_address = 'nobody-here@example.test'`,
      ),
    ).toEqual([{ n: 0 }]);

    const known = await post('/auth/forgot-password', { email: tenant.admin.email });
    expect(known.statusCode).toBe(202);
    const mail = await lastMailTo(t, tenant.admin.email);
    expect(mail.subject).toMatch(/reset/i);

    expect((await post('/auth/reset-password', { token: mail.token, password: 'password' })).statusCode).toBe(400);
    expect(
      (await post('/auth/reset-password', { token: mail.token, password: 'a fresh reset passphrase' })).statusCode,
    ).toBe(204);
    expect(
      (await post('/auth/reset-password', { token: mail.token, password: 'yet another passphrase' })).statusCode,
    ).toBe(400);
    const me = await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(tenant.admin.accessToken) });
    expect(me.statusCode).toBe(401);
    expect((await post('/auth/login', { email: tenant.admin.email, password: tenant.admin.password })).statusCode).toBe(
      401,
    );
    await login(t, tenant.admin.email, 'a fresh reset passphrase');
  });

  it('verifies the address of a self-registered user, and resends on request', async () => {
    const reg = await post('/auth/register', {
      email: 'verify-me@example.test',
      name: 'V',
      password: 'verify me please',
    });
    expect(reg.statusCode).toBe(201);
    const first = await lastMailTo(t, 'verify-me@example.test');
    expect((await post('/auth/resend-verification', {}, bearer(reg.json().accessToken))).statusCode).toBe(202);
    const second = await lastMailTo(t, 'verify-me@example.test');
    expect(second.token).not.toBe(first.token);
    expect((await post('/auth/verify-email', { token: first.token })).statusCode).toBe(400);
    expect((await post('/auth/verify-email', { token: second.token })).statusCode).toBe(204);
    const [row] = await t.dataSource.query(
      `SELECT email_verified_at FROM users WHERE email = 'verify-me@example.test'`,
    );
    expect(row.email_verified_at).not.toBeNull();
  });
});

describe('SMTP delivery', () => {
  it('delivers through SMTP_URL and records the message as sent', async () => {
    const received: string[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        let data = '';
        stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
        stream.on('end', () => {
          received.push(data);
          callback();
        });
      },
    });
    server.listen(0, '127.0.0.1');
    await once(server.server, 'listening');
    const { port } = server.server.address() as AddressInfo;
    const t = await createTestApp({
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      MAIL_FROM: 'Atrium Test <test@atrium.local>',
    });
    try {
      const res = await t.http({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email: 'smtp@example.test', name: 'S', password: 'smtp delivered pw' },
      });
      expect(res.statusCode).toBe(201);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatch(/Subject: Confirm your e-mail address/);
      expect(received[0]).toMatch(/atr_ot_/);
      const [row] = await t.dataSource.query(
        `SELECT transport, sent_at, error FROM mail_outbox WHERE to_address = 'smtp@example.test'`,
      );
      expect(row).toMatchObject({ transport: 'smtp', error: null, sent_at: expect.anything() });
    } finally {
      await t.close();
      server.close();
    }
  });
});

describe('tenant creation with an invited first admin', () => {
  it('mails the first admin an invitation when POST /tenants has no password', async () => {
    const t = await createTestApp();
    try {
      const { superAdmin } = await import('../helpers/factories.js');
      const root = await superAdmin(t);
      const res = await t.http({
        method: 'POST',
        url: '/api/v1/tenants',
        headers: bearer(root.accessToken),
        payload: { name: 'Invited Co', admin: { email: 'owner@invited.test', name: 'Owner' } },
      });
      expect(res.statusCode).toBe(201);
      expect(await userRow(t, res.json().adminId)).toMatchObject({
        status: 'invited',
        role: 'tenant_admin',
        password_hash: null,
      });
      const mail = await lastMailTo(t, 'owner@invited.test');
      const accepted = await t.http({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: {
          email: 'owner@invited.test',
          name: 'Owner',
          password: 'owner accepts invite',
          invitationToken: mail.token,
        },
      });
      expect(accepted.statusCode).toBe(201);
      expect(accepted.json().user.role).toBe('tenant_admin');
    } finally {
      await t.close();
    }
  });
});
