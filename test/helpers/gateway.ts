import { expect } from '@jest/globals';
import { bearer, superAdmin, unique } from './factories.js';
import type { TestApp } from './test-app.js';

export interface UpstreamRoute {
  task: 'chat' | 'embedding' | 'image' | 'video';
  /** The upstream's model name the route targets. */
  model: string;
  kind?: 'openai' | 'gemini' | 'anthropic';
  /** Prices of the route (perImageMicros, perVideoSecondMicros, ...). */
  prices?: Record<string, number>;
}

/** A provider at `baseUrl` with one key, and a model route of `task` to it, made by the super admin; its alias. */
export async function upstreamRoute(t: TestApp, baseUrl: string, route: UpstreamRoute): Promise<string> {
  const root = bearer((await superAdmin(t)).accessToken);
  const post = async (url: string, payload: object) => {
    const res = await t.http({ method: 'POST', url: `/api/v1${url}`, headers: root, payload });
    expect(res.statusCode).toBe(201);
    return res.json();
  };
  const kind = route.kind ?? 'openai';
  const provider = await post('/providers', { name: `${kind}-${unique()}`, kind, baseUrl });
  await post(`/providers/${provider.id}/keys`, { key: `sk-${route.task}-${unique()}` });
  const alias = `${route.task}-${unique()}`;
  await post('/model-routes', {
    alias,
    task: route.task,
    targets: [{ providerId: provider.id, model: route.model }],
    ...route.prices,
  });
  return alias;
}
