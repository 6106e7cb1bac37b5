/**
 * Usage analytics (/api/analytics/...) and GDPR (/api/gdpr/...). Members
 * see their own usage, admins and server keys everyone's.
 */
import { z } from 'zod';
import { type ApiRoutes, problems, reply } from '../app/api.js';
import type { Principal } from '../app/principal.js';
import type { UsageSink } from '../app/usage.js';
import type { Accounts } from './accounts.js';
import type { Analytics, UsageFilter } from './analytics.js';
import type { Counters } from './counters.js';
import { isAdmin, userOf } from './guards.js';
import type { Privacy } from './privacy.js';
import {
  Consent,
  ConsentBody,
  DeletionBody,
  EventBody,
  Metrics,
  Period,
  UsageQuery,
  UsageResponse,
} from './schemas.js';

const DAY_MS = 86_400_000;
const DEFAULT_PERIOD_DAYS = 30;
/** A client event's JSON, at most (the usage table is not a document store). */
export const MAX_EVENT_BYTES = 4096;

export interface InsightRouteDeps {
  analytics: Analytics;
  privacy: Privacy;
  accounts: Accounts;
  usage: UsageSink;
  counters: Counters;
  eventsPerMinute: number;
}

/** The period and whose records: a member is always limited to their own. */
function filterFor(principal: Principal, query: z.output<typeof Period>): UsageFilter {
  const to = query.to ? new Date(query.to) : new Date();
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_PERIOD_DAYS * DAY_MS);
  if (from >= to)
    throw problems.badRequest('from must be before to', [{ field: 'from', message: 'must be before to' }]);
  const period = { from: from.toISOString(), to: to.toISOString() };
  if (isAdmin(principal)) return { ...period, userId: query.user_id };
  const own = userOf(principal);
  if (query.user_id && query.user_id !== own)
    throw problems.forbidden("Only admins may read another user's usage");
  return { ...period, userId: own };
}

export function registerAnalyticsRoutes(api: ApiRoutes, deps: InsightRouteDeps): void {
  const { analytics } = deps;
  api.route({
    method: 'get',
    path: '/analytics/usage',
    summary: 'Calls, errors, Airtable requests, tokens and cost per day, tool or user',
    query: UsageQuery,
    response: UsageResponse,
    handler: async ({ principal, query }) => {
      const filter = filterFor(principal, query);
      await deps.usage.flush(); // what this replica has buffered counts too
      return {
        from: filter.from,
        to: filter.to,
        group_by: query.group_by,
        groups: await analytics.usage(filter, query.group_by),
      };
    },
  });

  api.route({
    method: 'get',
    path: '/analytics/metrics',
    summary: 'Totals for a period: calls, error rate, p50/p95 latency, Airtable requests, tokens, cost',
    query: Period,
    response: Metrics,
    handler: async ({ principal, query }) => {
      const filter = filterFor(principal, query);
      await deps.usage.flush();
      return analytics.metrics(filter);
    },
  });

  api.route({
    method: 'get',
    path: '/analytics/dashboard',
    summary: 'The figures a front page shows: today, the last 7 days, top tools, recent errors',
    query: Period.pick({ user_id: true }),
    handler: async ({ principal, query }) => {
      const now = Date.now();
      const midnight = new Date(new Date(now).toISOString().slice(0, 10)).getTime();
      const today = filterFor(principal, { ...query, from: iso(midnight), to: iso(now + 1) });
      const week = filterFor(principal, { ...query, from: iso(now - 7 * DAY_MS), to: iso(now + 1) });
      await deps.usage.flush();
      const [todayMetrics, weekMetrics, tools, errors] = await Promise.all([
        analytics.metrics(today),
        analytics.metrics(week),
        analytics.usage(week, 'tool'),
        analytics.recentErrors(week),
      ]);
      return {
        today: todayMetrics,
        last_7_days: weekMetrics,
        top_tools: tools
          .slice(0, 10)
          .map(({ key, calls, errors: failed }) => ({ key, calls, errors: failed })),
        recent_errors: errors,
      };
    },
  });

  api.route({
    method: 'post',
    path: '/analytics/events',
    summary: "Record a client's own event (validated, at most 4 KB, rate-limited)",
    body: EventBody,
    maxBodyBytes: MAX_EVENT_BYTES,
    successStatus: 202,
    errors: [413, 429],
    handler: async ({ principal, body, req }) => {
      const who = principal.userId ?? (principal.kind === 'anonymous' ? `ip:${req.ip}` : principal.id);
      const hits = await deps.counters.hit(`events:${who}`, 'fixed', 60_000);
      if (hits.count > deps.eventsPerMinute) {
        throw problems.tooManyRequests(`At most ${deps.eventsPerMinute} events a minute; slow down`, 60);
      }
      deps.usage.record({
        kind: 'event',
        name: body.name,
        outcome: 'ok',
        durationMs: 0,
        principalKind: principal.kind,
        principalId: principal.id,
        userId: principal.userId ?? null,
        source: 'client',
        detail: body.properties,
      });
      return reply(202, { recorded: true });
    },
  });
}

export function registerGdprRoutes(api: ApiRoutes, { privacy, accounts }: InsightRouteDeps): void {
  api.route({
    method: 'put',
    path: '/gdpr/consent',
    summary: 'Grant or withdraw consent for a purpose (an append-only ledger)',
    tag: 'gdpr',
    body: ConsentBody,
    response: Consent,
    handler: ({ principal, body }) => privacy.setConsent(principal, userOf(principal), body),
  });

  api.route({
    method: 'get',
    path: '/gdpr/consent',
    summary: 'Your consents now, and their whole history',
    tag: 'gdpr',
    response: z.object({
      current: z.array(Consent),
      history: z.array(Consent.extend({ source: z.string() })),
    }),
    handler: ({ principal }) => privacy.consents(userOf(principal)),
  });

  api.route({
    method: 'post',
    path: '/gdpr/export',
    summary: 'Everything every module holds about you, as one JSON document',
    tag: 'gdpr',
    handler: ({ principal }) => privacy.export(principal, userOf(principal)),
  });

  api.route({
    method: 'post',
    path: '/gdpr/deletion',
    summary: 'Erase your account and your data in every module (needs your password)',
    tag: 'gdpr',
    body: DeletionBody,
    response: z.object({ status: z.enum(['completed', 'pending']), request_id: z.string() }),
    errors: [202],
    handler: async ({ principal, body }) => {
      const userId = userOf(principal);
      if (!(await accounts.checkPassword(userId, body.password))) {
        throw problems.forbidden(
          'The password is not right; erasing your account needs your current password',
        );
      }
      const result = await privacy.erase(principal, userId);
      return result.status === 'completed' ? result : reply(202, result);
    },
  });

  api.route({
    method: 'get',
    path: '/gdpr/status',
    summary: 'Your consents, your GDPR requests and their state, and how long data is kept',
    tag: 'gdpr',
    handler: ({ principal }) => privacy.status(userOf(principal)),
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
