/**
 * Cron triggers (croner, with time zones). Each workflow keeps its next due
 * time; a replica that finds it due inserts the run together with a
 * (workflow, due time) row whose primary key lets only one replica fire it.
 *
 * Catch-up policy: after downtime, only the latest missed due time fires,
 * and only when it is at most SAGA_CATCH_UP_SECONDS old; earlier missed
 * times are skipped (never a burst of runs).
 */
import { Cron } from 'croner';

export class CronError extends Error {
  override name = 'CronError';
}

function cron(expression: string, timezone?: string): Cron {
  try {
    const job = new Cron(expression, { timezone: timezone || 'UTC', paused: true });
    job.nextRun(); // a bad time zone only shows here
    return job;
  } catch (error) {
    throw new CronError((error as Error).message.replace(/^CronPattern: |^CronDate: /, ''));
  }
}

/** The next due time strictly after `after`. */
export function nextFire(expression: string, timezone: string | undefined, after: Date): Date | null {
  return cron(expression, timezone).nextRun(after);
}

/** The next `n` due times, for validation answers. Throws CronError for a bad expression or time zone. */
export function nextFires(
  expression: string,
  timezone: string | undefined,
  n: number,
  from = new Date(),
): Date[] {
  const job = cron(expression, timezone);
  const out: Date[] = [];
  let at: Date | null = from;
  while (out.length < n && at) {
    at = job.nextRun(at);
    if (at) out.push(at);
  }
  return out;
}

/** The latest due time in [stored next, now]: the one that fires after downtime. */
export function latestDue(expression: string, timezone: string | undefined, dueAt: Date, now: Date): Date {
  const job = cron(expression, timezone);
  const [latest] = job.previousRuns(1, new Date(now.getTime() + 1));
  return latest && latest > dueAt ? latest : dueAt;
}
