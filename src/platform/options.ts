/**
 * The platform's config section, declared once: flags, env vars, defaults
 * and --help lines all come from here (see src/app/options.ts).
 */
import { z } from 'zod';
import { defineSection, option, positiveInt } from '../app/options.js';

export const platformSection = defineSection('platform', 'Teams (users, sign-in, keys, analytics, GDPR)', {
  registration: option({
    // Unset: open in --sandbox mode on loopback (the demo needs no set-up), closed otherwise.
    schema: z.enum(['open', 'closed']).optional(),
    env: 'REGISTRATION',
    flag: 'registration',
    arg: '<open|closed>',
    help: 'Who may create an account: anyone (open) or only admins (closed; default, open in the loopback sandbox)',
  }),
  jwtSecret: option({
    schema: z.string().min(32, 'must be at least 32 characters (256 bits)').optional(),
    env: 'JWT_SECRET',
    secret: true,
    help: 'Signing secret for access tokens (HS256); default: one generated once and kept in the database',
  }),
  refreshTokenDays: option({
    schema: positiveInt(7),
    env: 'REFRESH_TOKEN_DAYS',
    help: 'Days a refresh token lasts unused (default 7; a sign-in lasts at most 30 days)',
  }),
  lockoutThreshold: option({
    schema: positiveInt(5),
    env: 'LOGIN_LOCKOUT_THRESHOLD',
    help: 'Consecutive failed sign-ins of one account before it is delayed (default 5)',
  }),
  lockoutMaxSeconds: option({
    schema: positiveInt(300),
    env: 'LOGIN_LOCKOUT_MAX_SECONDS',
    help: 'Longest delay an account gets after failed sign-ins (default 300 s)',
  }),
  addressLimit: option({
    schema: positiveInt(50),
    env: 'LOGIN_ADDRESS_LIMIT',
    help: 'Failed sign-ins one client address may make in 15 minutes (default 50)',
  }),
  retentionDays: option({
    schema: positiveInt(90),
    env: 'ANALYTICS_RETENTION_DAYS',
    help: 'Days usage records are kept (default 90)',
  }),
  eventsPerMinute: option({
    schema: positiveInt(60),
    env: 'ANALYTICS_EVENTS_PER_MINUTE',
    help: 'Client events one principal may record per minute (default 60)',
  }),
});

export type PlatformOptions = {
  registration?: 'open' | 'closed';
  jwtSecret?: string;
  refreshTokenDays: number;
  lockoutThreshold: number;
  lockoutMaxSeconds: number;
  addressLimit: number;
  retentionDays: number;
  eventsPerMinute: number;
};
