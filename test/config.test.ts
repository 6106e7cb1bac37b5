import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { limiterFor } from '../src/app/airtable.js';
import { defineModule } from '../src/app/module.js';
import { option } from '../src/app/options.js';
import { CORE_SECTIONS, ConfigError, loadConfig } from '../src/config.js';
import { DEFAULT_TOOLSETS, TOOLSETS } from '../src/tools/toolsets.js';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig({}, {});
    expect(config.airtable.baseUrl).toBe('https://api.airtable.com');
    expect(config.airtable.token).toBeUndefined();
    expect(config.tools).toEqual({
      readOnly: false,
      toolsets: [...DEFAULT_TOOLSETS],
      maxResponseTokens: 20_000,
    });
    expect(config.sandbox.enabled).toBe(false);
    expect(config.logLevel).toBe('info');
  });

  it('reads the token from any of its variables, in order', () => {
    expect(loadConfig({}, { AIRTABLE_PAT: 'c', AIRTABLE_API_KEY: 'b' }).airtable.token).toBe('b');
    expect(loadConfig({}, { AIRTABLE_TOKEN: 'a', AIRTABLE_API_KEY: 'b' }).airtable.token).toBe('a');
    expect(loadConfig({}, { AIRTABLE_TOKEN: '  ' }).airtable.token).toBeUndefined();
  });

  it('lets flags win over env and parses booleans from env', () => {
    const env = { AIRTABLE_READ_ONLY: 'yes', AIRTABLE_BASE: 'appAAAAAAAAAAAAAA', LOG_LEVEL: 'debug' };
    expect(loadConfig({}, env).tools.readOnly).toBe(true);
    expect(loadConfig({ readOnly: false, base: 'appBBBBBBBBBBBBBB' }, env)).toMatchObject({
      tools: { readOnly: false },
      airtable: { defaultBase: 'appBBBBBBBBBBBBBB' },
      logLevel: 'debug',
    });
    expect(loadConfig({}, { AIRTABLE_SANDBOX: '0' }).sandbox.enabled).toBe(false);
    expect(loadConfig({}, { SANDBOX_RATE_LIMIT: 'off' }).sandbox.rateLimit).toBe(false);
  });

  it('expands toolsets, including "all"', () => {
    expect(loadConfig({ toolsets: 'records, bulk' }, {}).tools.toolsets).toEqual(['records', 'bulk']);
    expect(loadConfig({}, { AIRTABLE_TOOLSETS: 'all' }).tools.toolsets).toEqual(Object.keys(TOOLSETS));
  });

  it('rejects invalid values with one readable ConfigError', () => {
    expect(() => loadConfig({ toolsets: 'records,nope' }, {})).toThrow(/unknown toolset "nope"/);
    expect(() => loadConfig({ base: 'app/../meta' }, {})).toThrow(ConfigError);
    expect(() => loadConfig({}, { AIRTABLE_READ_ONLY: 'maybe' })).toThrow(/tools.readOnly/);
    expect(() => loadConfig({ airtableUrl: 'ftp://x' }, {})).toThrow(/airtable.baseUrl/);
    expect(() => loadConfig({ maxResponseTokens: '10' }, {})).toThrow(/maxResponseTokens/);
    expect(() => loadConfig({ logLevel: 'loud' }, {})).toThrow(/logLevel/);
  });
});

describe('declared options', () => {
  it('--modules is a flag too, and wins over MODULES', () => {
    expect(loadConfig({}, {}).modules).toBeUndefined();
    expect(loadConfig({}, { MODULES: 'none' }).modules).toEqual(['none']);
    expect(loadConfig({ modules: 'saga, orchestrator' }, { MODULES: 'none' }).modules).toEqual([
      'saga',
      'orchestrator',
    ]);
  });

  it("module flags reach their module's section by option id", () => {
    const config = loadConfig({ model: 'gemini-3.5-flash-lite', message: 'hi', sagaWorker: false }, {});
    expect(config.sections.orchestrator).toMatchObject({ model: 'gemini-3.5-flash-lite', message: 'hi' });
    expect(config.sections.saga).toMatchObject({ worker: false });
  });

  it('names every invalid value, core and module, in one line', () => {
    expect(() => loadConfig({ logLevel: 'loud' }, { PORT: 'x', SAGA_CONCURRENCY: '0' })).toThrow(
      /^Invalid configuration: http\.port: .*; logLevel: .*; saga\.concurrency: [^;]*$/,
    );
  });

  it("never echoes a secret's value in an error", () => {
    // Both options reject any value with a message that repeats it; only the secret one is hidden.
    const echoing = () =>
      z.string().refine(() => false, { error: (issue) => `bad "${String(issue.input)}"` });
    const module = defineModule({
      name: 'echo',
      summary: 'test',
      options: {
        key: option({ schema: echoing(), env: 'ECHO_KEY', secret: true, help: 'a secret' }),
        plain: option({ schema: echoing(), env: 'ECHO_PLAIN', help: 'not a secret' }),
      },
      create: () => ({}),
    });
    const load = () => loadConfig({}, { ECHO_KEY: 's3cret-value', ECHO_PLAIN: 'visible' }, [module]);
    expect(load).toThrow('echo.key: invalid value (not shown: it is a secret); echo.plain: bad "visible"');
  });

  it("states each core option's default in its help line", () => {
    for (const section of Object.values(CORE_SECTIONS)) {
      for (const [key, spec] of Object.entries(section.options)) {
        const parsed = spec.schema.safeParse(undefined);
        const value: unknown = parsed.success ? parsed.data : undefined;
        const stated = Array.isArray(value)
          ? value.join(',')
          : value === true
            ? 'default on'
            : typeof value === 'number' || (typeof value === 'string' && value !== '')
              ? String(value)
              : undefined;
        if (stated !== undefined) expect(spec.help, key).toContain(stated);
      }
    }
  });
});

describe('client throttle', () => {
  /** How many of `n` immediate acquires on one base are granted within 100 ms. */
  async function grantedQuickly(env: Record<string, string>, flags = {}, n = 8): Promise<number> {
    const limiter = limiterFor(loadConfig(flags, env));
    const controller = new AbortController();
    let granted = 0;
    const attempts = Array.from({ length: n }, () =>
      limiter.acquire(['base:appAAAAAAAAAAAAAA'], controller.signal).then(
        () => granted++,
        () => {},
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await Promise.all(attempts);
    return granted;
  }

  it("defaults to Airtable's 5 per second per base", async () => {
    expect(await grantedQuickly({})).toBe(5);
  });

  it('is configurable, and off for a sandbox without limits', async () => {
    expect(await grantedQuickly({ AIRTABLE_BASE_RPS: '2' })).toBe(2);
    expect(await grantedQuickly({ AIRTABLE_BASE_RPS: '0' })).toBe(8);
    expect(await grantedQuickly({}, { sandbox: true, rateLimit: false })).toBe(8);
    expect(await grantedQuickly({}, { sandbox: true })).toBe(5);
  });
});
