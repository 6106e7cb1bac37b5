/**
 * Tests that need a real service (PostgreSQL, Redis) on this machine. When it
 * is not reachable they are skipped with one warning line, unless
 * REQUIRE_SERVICES=1 (CI), where a missing service is a failure.
 */

const CHECK_TIMEOUT_MS = 5_000;

/**
 * Runs `check` (which should throw when the service is unusable). Resolves true
 * when it passed, false (after one console.warn line) when it failed; rejects
 * instead when REQUIRE_SERVICES=1. `where` (e.g. "127.0.0.1:5432") goes into
 * the messages; never put credentials in it.
 */
export async function requireService(
  name: string,
  check: () => Promise<unknown>,
  where?: string,
): Promise<boolean> {
  try {
    await withTimeout(check(), CHECK_TIMEOUT_MS);
    return true;
  } catch (error) {
    const place = where ? ` at ${where}` : '';
    const reason = reasonOf(error);
    if (process.env.REQUIRE_SERVICES === '1') {
      throw new Error(`${name} not reachable${place} (${reason}) and REQUIRE_SERVICES=1`, { cause: error });
    }
    console.warn(
      `${name} not reachable${place} (${reason}); skipping (set REQUIRE_SERVICES=1 to fail instead)`,
    );
    return false;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Node's AggregateError (one failure per resolved address) has an empty message: use its members. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  const first = error instanceof AggregateError ? error.errors[0] : undefined;
  return first instanceof Error && first.message
    ? first.message
    : ((error as { code?: string }).code ?? error.name);
}
