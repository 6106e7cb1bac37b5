/**
 * Users (admin) and personal keys (each user their own) under /api.
 */
import { z } from 'zod';
import { type ApiRoutes, reply } from '../app/api.js';
import type { Principal } from '../app/principal.js';
import type { Accounts } from './accounts.js';
import type { AuditTrail } from './audit.js';
import { requireAdmin, signedInUserOf, userOf } from './guards.js';
import type { Privacy } from './privacy.js';
import { CreateKeyBody, CreateUserBody, IdParams, Key, UpdateUserBody, User } from './schemas.js';
import { publicUser } from './users.js';

export interface PeopleRouteDeps {
  accounts: Accounts;
  privacy: Privacy;
  audit: AuditTrail;
}

export function registerPeopleRoutes(api: ApiRoutes, deps: PeopleRouteDeps): void {
  registerUserRoutes(api, deps);
  registerKeyRoutes(api, deps);
}

function registerUserRoutes(api: ApiRoutes, { accounts, privacy, audit }: PeopleRouteDeps): void {
  api.route({
    method: 'get',
    path: '/users',
    summary: 'Every user (admins)',
    scopes: ['admin'],
    response: z.object({ users: z.array(User) }),
    handler: async ({ principal }) => {
      requireAdmin(principal);
      return { users: (await accounts.repo.listUsers()).map(publicUser) };
    },
  });

  api.route({
    method: 'post',
    path: '/users',
    summary: 'Create a user (admins; works with registration closed)',
    scopes: ['admin'],
    body: CreateUserBody,
    successStatus: 201,
    response: User,
    errors: [409],
    handler: async ({ principal, body }) => {
      requireAdmin(principal);
      const user = await accounts.createUser(body);
      await audit.record('user_created', user.id, principal, { role: user.role });
      return reply(201, publicUser(user));
    },
  });

  api.route({
    method: 'patch',
    path: '/users/:id',
    summary: "Change a user's role, allowed bases, or disable them (admins)",
    scopes: ['admin'],
    params: IdParams,
    body: UpdateUserBody,
    response: User,
    errors: [404, 409],
    handler: ({ principal, params, body }) => {
      requireAdmin(principal);
      return accounts.adminUpdate(params.id, body, principal);
    },
  });

  api.route({
    method: 'delete',
    path: '/users/:id',
    summary: 'Delete a user and their data in every module (admins)',
    scopes: ['admin'],
    params: IdParams,
    successStatus: 204,
    errors: [202, 404, 409],
    handler: async ({ principal, params }) => {
      requireAdmin(principal);
      await accounts.assertRemovable(params.id);
      const result = await privacy.erase(principal, params.id);
      // A module that failed to erase: access has ended, and the rest is retried (202 with the request to follow).
      return result.status === 'completed' ? reply(204) : reply(202, result);
    },
  });
}

function registerKeyRoutes(api: ApiRoutes, { accounts }: PeopleRouteDeps): void {
  api.route({
    method: 'get',
    path: '/keys',
    summary: 'Your personal API keys (never the secrets)',
    response: z.object({ keys: z.array(Key) }),
    handler: async ({ principal }) => ({ keys: await accounts.listKeys(userOf(principal)) }),
  });

  api.route({
    method: 'post',
    path: '/keys',
    summary: 'Create a personal API key; the key is shown only in this answer',
    body: CreateKeyBody,
    successStatus: 201,
    response: Key.extend({ key: z.string() }),
    handler: async ({ principal, body }) => {
      signedInUserOf(principal);
      return reply(201, await accounts.createKey(principal as Principal & { userId: string }, body));
    },
  });

  api.route({
    method: 'delete',
    path: '/keys/:id',
    summary: 'Revoke one of your keys (at once, on every replica)',
    params: IdParams,
    successStatus: 204,
    errors: [404],
    handler: async ({ principal, params }) => {
      await accounts.revokeKey(userOf(principal), params.id);
      return reply(204);
    },
  });
}
