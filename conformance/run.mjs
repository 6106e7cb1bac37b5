#!/usr/bin/env node
// Runs the official MCP conformance suite against the HTTP server (built CLI, in-process sandbox).
//   npm run conformance
// The suite needs Node >= 22; npx brings node@22 from the npm registry without touching the system Node.
// Reports go to conformance/results/<suite>/; a summary to conformance/results/summary.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnHttpCli } from '../bench/http-cli.mjs';

const STABLE = '@modelcontextprotocol/conformance@0.1.16';
const ALPHA = '@modelcontextprotocol/conformance@0.2.0-alpha.12';
const RESULTS = 'conformance/results';

function runSuite(name, pkg, args) {
  const out = `${RESULTS}/${name}`;
  const command = `conformance server ${args.join(' ')} -o ${out}`;
  console.log(`\n$ npx -p node@22 -p ${pkg} -c '${command}'`);
  const result = spawnSync('npx', ['-y', '-p', 'node@22', '-p', pkg, '-c', command], { stdio: 'inherit' });
  return { suite: name, package: pkg, command, exitCode: result.status };
}

rmSync(RESULTS, { recursive: true, force: true });
mkdirSync(RESULTS, { recursive: true });
const server = await spawnHttpCli();
const url = `${server.url}/mcp`;
const runs = [];
try {
  runs.push(runSuite('stable', STABLE, ['--url', url, '--expected-failures', 'conformance/baseline.yml']));
  runs.push(
    runSuite('alpha-session-lifecycle', ALPHA, ['--url', url, '--scenario', 'server-session-lifecycle']),
  );
} finally {
  server.stop();
}
writeFileSync(
  `${RESULTS}/summary.json`,
  `${JSON.stringify({ date: new Date().toISOString(), url, runs }, null, 2)}\n`,
);
const failed = runs.filter((r) => r.exitCode !== 0);
console.log(
  `\nconformance: ${runs.length - failed.length} of ${runs.length} suites as expected; reports in ${RESULTS}/`,
);
process.exit(failed.length ? 1 : 0);
