/**
 * The platform's request and response shapes, once: routes validate with
 * them and the OpenAPI document is generated from them. snake_case, as the
 * original platform service's JSON.
 */
import { z } from 'zod';
import { BASE_ID_PATTERN } from '../airtable/ids.js';
import { SCOPES } from '../app/principal.js';
import { MAX_PASSWORD_LENGTH } from './passwords.js';

const name = z.string().trim().max(100).nullable().optional();

export const Email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'must be an email address like name@example.com' }));
/** Length and the common-password list are checked by the accounts (one message for both paths). */
export const Password = z.string().min(1, 'is required').max(MAX_PASSWORD_LENGTH);

export const Bases = z.union([
  z.literal('*'),
  z.array(z.string().regex(BASE_ID_PATTERN, 'must be a base id like appXXXXXXXXXXXXXX')).max(1000),
]);
export const Scope = z.enum(SCOPES);

export const RegisterBody = z.object({
  email: Email,
  password: Password,
  first_name: name,
  last_name: name,
});
export const LoginBody = z.object({
  email: z.string().trim().max(254),
  password: z.string().max(MAX_PASSWORD_LENGTH),
});
export const RefreshBody = z.object({
  refresh_token: z
    .string()
    .max(200)
    .optional()
    .describe('Omit to use the console cookie (with X-Console: 1)'),
});
export const ProfileBody = z.object({ first_name: name, last_name: name });
export const PasswordBody = z.object({ current_password: Password, new_password: Password });

export const User = z.object({
  id: z.string(),
  email: z.string(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  role: z.enum(['admin', 'member']),
  allowed_bases: Bases,
  disabled: z.boolean(),
  disabled_at: z.string().nullable(),
  created_at: z.string(),
  last_login_at: z.string().nullable(),
});

export const TokenResponse = z.object({
  access_token: z.string(),
  refresh_token: z
    .string()
    .optional()
    .describe('Absent for the console: it is the amk_refresh cookie instead'),
  token_type: z.literal('bearer'),
  expires_in: z.number().int(),
  user: User,
});

export const CreateUserBody = RegisterBody.extend({
  role: z.enum(['admin', 'member']).optional(),
  allowed_bases: Bases.optional(),
});
export const UpdateUserBody = z
  .object({
    role: z.enum(['admin', 'member']).optional(),
    disabled: z.boolean().optional(),
    allowed_bases: Bases.optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: 'send at least one of role, disabled, allowed_bases',
    path: ['role'],
  });
export const IdParams = z.object({ id: z.string().min(1).max(100) });

export const Key = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(Scope),
  bases: Bases,
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export const CreateKeyBody = z.object({
  name: z.string().trim().min(1, 'is required').max(100),
  scopes: z.array(Scope).min(1, 'name at least one scope').max(SCOPES.length),
  bases: Bases.optional().describe("Narrows the owner's bases; default all of them"),
  expires_at: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
});

export const Period = z.object({
  from: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
  to: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
  user_id: z.string().max(100).optional().describe('Admins: one user only'),
});
export const UsageQuery = Period.extend({ group_by: z.enum(['day', 'tool', 'user']).default('day') });

const Totals = {
  calls: z.number().describe('Tool calls (MCP, /api, the assistant, workflows)'),
  errors: z.number().describe('Tool calls that did not succeed'),
  airtable_requests: z.number(),
  chat_turns: z.number(),
  workflow_steps: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: z.number(),
};
export const UsageResponse = z.object({
  from: z.string(),
  to: z.string(),
  group_by: z.enum(['day', 'tool', 'user']),
  groups: z.array(z.object({ key: z.string(), day: z.string().optional(), ...Totals })),
});
export const Metrics = z.object({
  from: z.string(),
  to: z.string(),
  ...Totals,
  error_rate: z.number(),
  p50_ms: z.number().nullable(),
  p95_ms: z.number().nullable(),
});
export const EventBody = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits or _ . : -'),
  properties: z.record(z.string(), z.unknown()).optional(),
});

export const ConsentBody = z.object({
  purpose: z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'must be 1-64 lower-case letters, digits or _ . -'),
  granted: z.boolean(),
  policy_version: z.string().trim().min(1, 'is required').max(64),
});
export const Consent = z.object({
  purpose: z.string(),
  granted: z.boolean(),
  policy_version: z.string(),
  updated_at: z.string(),
});
export const DeletionBody = z.object({ password: Password });
