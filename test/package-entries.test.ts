/**
 * The package's entries as an embedder imports them (by package name,
 * resolved through package.json "exports" to the built dist/ files).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function exportsOf(specifier: string): string[] {
  const script = `import(${JSON.stringify(specifier)}).then((m) => process.stdout.write(Object.keys(m).sort().join(',')))`;
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).split(',');
}

describe('package entries', () => {
  it('the main entry exports the server, the root and the module contract', () => {
    expect(exportsOf('airtable-mcp-kit')).toEqual(
      expect.arrayContaining([
        'createServer',
        'startHttpServer',
        'buildApp',
        'defineModule',
        'defineTool',
        'HttpProblem',
      ]),
    );
  });

  it('each module has its own entry with types', () => {
    expect(exportsOf('airtable-mcp-kit/orchestrator')).toEqual(
      expect.arrayContaining(['createOrchestrator', 'default']),
    );
  });
});
