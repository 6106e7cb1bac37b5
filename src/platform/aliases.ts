/**
 * The original platform service's paths, kept so its clients keep working:
 * each alias serves the same route (same schemas, auth and answer) at the
 * old method and path, and is marked as such in the OpenAPI document.
 */
import type { ApiRoutes, HttpMethod } from '../app/api.js';

type RouteKey = `${HttpMethod} ${string}`;

/** New route → the original system's method and path for it. */
export const ORIGINAL_PATHS: Readonly<Record<RouteKey, readonly RouteKey[]>> = {
  'get /auth/profile': ['get /auth/me'],
  'patch /auth/profile': ['put /auth/profile', 'put /auth/me'],
  'get /auth/verify': ['get /auth/validate'],
  'post /auth/password': ['post /auth/change-password'],
  'post /gdpr/export': ['post /gdpr/data-export'],
  'post /gdpr/deletion': ['post /gdpr/data-deletion'],
  'get /gdpr/status': ['get /gdpr/compliance-status'],
};

/** Routes registered through this also answer at their original paths. */
export function withOriginalPaths(api: ApiRoutes): ApiRoutes {
  return {
    mount: (path, handler) => api.mount(path, handler),
    route(spec) {
      api.route(spec);
      for (const alias of ORIGINAL_PATHS[`${spec.method} ${spec.path}`] ?? []) {
        const [method, path] = alias.split(' ') as [HttpMethod, string];
        api.route({
          ...spec,
          method,
          path,
          summary: `${spec.summary} (the original platform's path; same as ${spec.method.toUpperCase()} /api${spec.path})`,
        });
      }
    },
  };
}
