/**
 * The platform module once created: accounts, keys, analytics and GDPR
 * wired from the module context. Loaded lazily by index.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ModuleContext, ModuleInstance } from '../app/module.js';
import { isLoopbackAddress } from '../app/network.js';
import { readSection } from '../app/options.js';
import { Accounts } from './accounts.js';
import { withOriginalPaths } from './aliases.js';
import { Analytics } from './analytics.js';
import { AuditTrail } from './audit.js';
import { type Counters, RedisCounters, StoreCounters } from './counters.js';
import { platformSection } from './options.js';
import { Privacy } from './privacy.js';
import { PlatformRepository } from './repository.js';
import { registerAuthRoutes } from './routes-auth.js';
import { registerAnalyticsRoutes, registerGdprRoutes } from './routes-insights.js';
import { registerPeopleRoutes } from './routes-people.js';
import type { PlatformTables } from './tables.js';
import { LoginThrottle } from './throttle.js';
import { AccessTokens, randomId } from './tokens.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** What an embedder (and the `users` command) gets from `app.modules.get('platform').api`. */
export interface PlatformApi {
  accounts: Accounts;
  analytics: Analytics;
  privacy: Privacy;
  audit: AuditTrail;
  /** Deletes usage records past the retention period now (the periodic job calls it on one replica). */
  runRetention(): Promise<number>;
}

/** Unset REGISTRATION: open for the loopback sandbox demo, closed for everything else. */
export function registrationMode(ctx: Pick<ModuleContext, 'config'>): 'open' | 'closed' {
  const chosen = readSection(ctx.config, platformSection).registration;
  if (chosen) return chosen;
  const { config } = ctx;
  return config.sandbox.enabled && isLoopbackAddress(config.http.host) ? 'open' : 'closed';
}

/** The parts, without routes or jobs: what the CLI's `users` command needs too. */
export async function platformParts(
  ctx: Pick<ModuleContext, 'config' | 'store' | 'redis' | 'logger' | 'gdpr'>,
) {
  const settings = readSection(ctx.config, platformSection);
  const db = ctx.store.db as Kysely<PlatformTables>;
  const repo = new PlatformRepository(db);
  const store = new StoreCounters(db);
  const counters: Counters = ctx.redis ? new RedisCounters(ctx.redis, store) : store;
  // Generated once and kept in the database, so every replica (and every restart) signs alike.
  const jwtSecret =
    settings.jwtSecret ?? (await repo.setting('jwt_secret', () => randomBytes(32).toString('base64url')));
  const audit = new AuditTrail(
    repo,
    await repo.setting('audit_key', () => randomBytes(32).toString('base64url')),
  );
  const throttle = new LoginThrottle(counters, {
    threshold: settings.lockoutThreshold,
    maxDelayMs: settings.lockoutMaxSeconds * 1000,
    addressLimit: settings.addressLimit,
  });
  const accounts = new Accounts({
    repo,
    tokens: new AccessTokens(jwtSecret),
    throttle,
    logger: ctx.logger,
    refreshTokenDays: settings.refreshTokenDays,
    defaultBases: '*',
    audit,
  });
  const privacy = new Privacy({
    repo,
    accounts,
    audit,
    registry: ctx.gdpr,
    throttle,
    logger: ctx.logger,
    retention: { usage_records_days: settings.retentionDays, refresh_token_days: settings.refreshTokenDays },
  });
  return { settings, db, repo, counters, audit, accounts, privacy, analytics: new Analytics(db) };
}

export async function createPlatformModule(ctx: ModuleContext): Promise<ModuleInstance> {
  const parts = await platformParts(ctx);
  const { settings, accounts, privacy, analytics, audit, repo, counters } = parts;
  const holder = randomId('replica_');
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const runRetention = async (): Promise<number> => {
    const cutoff = new Date(Date.now() - settings.retentionDays * DAY_MS).toISOString();
    const deleted = await analytics.deleteBefore(cutoff);
    await repo.deleteExpiredRefreshTokens(new Date().toISOString());
    if (deleted)
      ctx.logger.info({ deleted, days: settings.retentionDays }, 'usage records past retention deleted');
    return deleted;
  };
  /** Hourly, on whichever replica holds the lease: the job runs once across replicas. */
  const housekeeping = async () => {
    const now = Date.now();
    const leased = await repo.acquireLease(
      'platform_housekeeping',
      holder,
      iso(now + HOUR_MS - 60_000),
      iso(now),
    );
    if (!leased) return;
    await runRetention();
    await privacy.resumeErasures();
  };
  const api: PlatformApi = { accounts, analytics, privacy, audit, runRetention };
  const registration = registrationMode(ctx);
  if (ctx.mode === 'http') ctx.logger.info({ registration }, 'platform: sign-in at /api/auth/login');

  return {
    authStrategies: [accounts.strategy()],
    currentPrincipal: (stored) => accounts.currentPrincipal(stored),
    routes(api) {
      const routes = withOriginalPaths(api);
      registerAuthRoutes(routes, {
        accounts,
        counters,
        registration: () => registration,
        basePath: ctx.basePath,
        refreshTokenDays: settings.refreshTokenDays,
      });
      registerPeopleRoutes(routes, { accounts, privacy, audit });
      const insights = {
        analytics,
        privacy,
        accounts,
        usage: ctx.usage,
        counters,
        eventsPerMinute: settings.eventsPerMinute,
      };
      registerAnalyticsRoutes(routes, insights);
      registerGdprRoutes(routes, insights);
    },
    gdpr: privacy.hooks(),
    health: [
      {
        name: 'platform',
        critical: true,
        async check() {
          await repo.countUsers();
        },
      },
    ],
    async start() {
      if (ctx.mode !== 'http') return;
      const run = () => {
        running ??= housekeeping()
          .catch((error) =>
            ctx.logger.warn({ err: error }, 'platform housekeeping failed; retried in an hour'),
          )
          .finally(() => {
            running = undefined;
          });
      };
      run();
      timer = setInterval(run, HOUR_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running; // the store closes after this: let a run in progress finish first
    },
    api,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
