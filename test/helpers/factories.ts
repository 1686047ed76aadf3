import { randomBytes } from 'node:crypto';
import { expect } from '@jest/globals';
import { SUPER_ADMIN, type TestApp } from './test-app.js';

export type TenantRoleName = 'tenant_admin' | 'member' | 'viewer';

export interface Account {
  id: string;
  email: string;
  password: string;
  role: TenantRoleName | 'super_admin';
  accessToken: string;
  refreshToken: string;
}

export interface TenantFixture {
  id: string;
  slug: string;
  admin: Account;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** 8 random hex characters, for names and e-mails no other test (or run) uses. */
export const unique = () => randomBytes(4).toString('hex');

export async function login(t: TestApp, email: string, password: string, tenant?: string) {
  const res = await t.http({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password, tenant } });
  expect(res.statusCode).toBe(200);
  return res.json() as { accessToken: string; refreshToken: string; user: { id: string; role: string } };
}

export async function superAdmin(t: TestApp): Promise<Account> {
  const tokens = await login(t, SUPER_ADMIN.email, SUPER_ADMIN.password);
  return {
    id: tokens.user.id,
    email: SUPER_ADMIN.email,
    password: SUPER_ADMIN.password,
    role: 'super_admin',
    ...tokens,
  };
}

/** A new tenant created by the super admin, with its first admin signed in. */
export async function newTenant(t: TestApp, name = `Tenant ${unique()}`): Promise<TenantFixture> {
  const root = await superAdmin(t);
  const email = `admin-${unique()}@example.test`;
  const password = `pw-${unique()}-${unique()}`;
  const res = await t.http({
    method: 'POST',
    url: '/api/v1/tenants',
    headers: bearer(root.accessToken),
    payload: { name, admin: { email, name: 'Admin', password } },
  });
  expect(res.statusCode).toBe(201);
  const { tenant, adminId } = res.json();
  const tokens = await login(t, email, password, tenant.slug);
  return { id: tenant.id, slug: tenant.slug, admin: { id: adminId, email, password, role: 'tenant_admin', ...tokens } };
}

/** A user created by the tenant's admin, signed in. */
export async function newUser(t: TestApp, tenant: TenantFixture, role: TenantRoleName): Promise<Account> {
  const email = `${role}-${unique()}@example.test`;
  const password = `pw-${unique()}-${unique()}`;
  const res = await t.http({
    method: 'POST',
    url: '/api/v1/users',
    headers: bearer(tenant.admin.accessToken),
    payload: { email, name: role, role, password },
  });
  expect(res.statusCode).toBe(201);
  const tokens = await login(t, email, password, tenant.slug);
  return { id: res.json().id, email, password, role, ...tokens };
}

export async function userRow(t: TestApp, id: string) {
  const [row] = await t.dataSource.query(`SELECT * FROM users WHERE id = $1`, [id]);
  return row as Record<string, unknown> | undefined;
}

export async function tenantRow(t: TestApp, id: string) {
  const [row] = await t.dataSource.query(`SELECT * FROM tenants WHERE id = $1`, [id]);
  return row as Record<string, unknown> | undefined;
}

export interface IssuedKey {
  id: string;
  key: string;
}

/** Headers that send an API key the other accepted way (the bearer way is `bearer(key)`). */
export const xApiKey = (key: string) => ({ 'x-api-key': key });

/** A personal API key of `owner`: every permission the owner holds, or just `scopes`. */
export async function personalKey(t: TestApp, owner: Account, scopes?: string[]): Promise<IssuedKey> {
  const res = await t.http({
    method: 'POST',
    url: '/api/v1/api-keys',
    headers: bearer(owner.accessToken),
    payload: { name: `key-${unique()}`, ...(scopes ? { scopes } : {}) },
  });
  expect(res.statusCode).toBe(201);
  const { id, key } = res.json();
  return { id, key };
}

/** A fresh tenant API key, issued by the tenant's admin; the key the tenant had is refused from now on. */
export async function tenantKey(t: TestApp, tenant: TenantFixture): Promise<IssuedKey> {
  const res = await t.http({
    method: 'POST',
    url: `/api/v1/tenants/${tenant.id}/regenerate-api-key`,
    headers: bearer(tenant.admin.accessToken),
    payload: {},
  });
  expect(res.statusCode).toBe(200);
  const { id, key } = res.json();
  return { id, key };
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The parts of an OpenAPI schema the suites read; `$ref`s are resolved by `apiOperations`. */
export interface JsonSchema {
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  allOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
}

export interface ApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

export interface ApiOperation {
  method: HttpMethod;
  path: string;
  /** `METHOD /path`, as the route table and the suites name it. */
  route: string;
  /** `x-required-permission`: a permission, `super_admin`, `super_admin or METRICS_TOKEN` or `public`. */
  permission: string;
  parameters: ApiParameter[];
  /** The JSON request body's schema, with every `$ref` resolved. */
  body?: JsonSchema;
}

/** Every operation of the running app, read from its OpenAPI document (generated from the router). */
export async function apiOperations(t: TestApp): Promise<ApiOperation[]> {
  const res = await t.http({ method: 'GET', url: '/docs-json' });
  expect(res.statusCode).toBe(200);
  const doc = res.json() as {
    paths: Record<
      string,
      Record<
        string,
        {
          'x-required-permission'?: string;
          parameters?: ApiParameter[];
          requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
        }
      >
    >;
    components?: { schemas?: Record<string, JsonSchema> };
  };
  const schemas = doc.components?.schemas ?? {};
  const resolve = (schema: JsonSchema, depth = 0): JsonSchema => {
    if (depth > 16) throw new Error('The OpenAPI schemas nest too deep (a cycle?)');
    if (schema.$ref) return resolve(schemas[schema.$ref.replace('#/components/schemas/', '')], depth + 1);
    const { allOf, ...own } = schema;
    const merged = allOf ? Object.assign({}, ...allOf.map((s) => resolve(s, depth + 1)), own) : own;
    return {
      ...merged,
      ...(merged.properties && {
        properties: Object.fromEntries(
          Object.entries(merged.properties as Record<string, JsonSchema>).map(([k, v]) => [k, resolve(v, depth + 1)]),
        ),
      }),
      ...(merged.items && { items: resolve(merged.items as JsonSchema, depth + 1) }),
      ...(merged.oneOf && { oneOf: (merged.oneOf as JsonSchema[]).map((s) => resolve(s, depth + 1)) }),
    };
  };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([verb, op]) => {
      const method = verb.toUpperCase() as HttpMethod;
      const body = op.requestBody?.content?.['application/json']?.schema;
      return {
        method,
        path,
        route: `${method} ${path}`,
        permission: op['x-required-permission'] ?? '(undeclared)',
        parameters: (op.parameters ?? []).map((p) => ({ ...p, ...(p.schema && { schema: resolve(p.schema) }) })),
        ...(body && { body: resolve(body) }),
      };
    }),
  );
}
