/** Names of the OpenAPI security schemes (declared in src/openapi.ts, attached by @Authenticated). */
export const BEARER_AUTH = 'bearer';
export const API_KEY_AUTH = 'api-key';
