#!/usr/bin/env node
// Benchmarks for airtable-mcp-kit. Prints a table and writes bench/results/latest.json.
//   npm run bench            (builds first)
// Every figure is measured here, against the built CLI and the sandbox over loopback HTTP.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startSandbox } from 'airtable-mcp-kit';
import { CLI, compareWithPeer } from './compare.mjs';
import { spawnHttpCli } from './http-cli.mjs';
import { callTool, closeAgent, openSession } from './http-load.mjs';

const results = [];

function record(name, value, unit, target, pass, note = '') {
  results.push({ name, value, unit, target, pass, note });
}

const median = (xs) => quantile(xs, 0.5);
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Milliseconds from spawn to the initialize reply on stdout. */
function coldStartOnce(args, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
    child.stdout.once('data', () => {
      resolve(performance.now() - started);
      child.kill('SIGTERM');
    });
    child.once('error', reject);
    // A server that exits without answering (dist/ replaced mid-run by a test elsewhere) fails the figure, not the bench.
    child.once('exit', (code, signal) =>
      reject(new Error(`dist/cli.js exited (${signal ?? code}) before answering`)),
    );
    child.stdin.on('error', () => {});
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    };
    child.stdin.write(`${JSON.stringify(init)}\n`);
  });
}

async function coldStart(label, args, env, runs = 10) {
  await coldStartOnce(args, env); // warm the OS file cache, as a second launch would be
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await coldStartOnce(args, env));
  const m = median(times);
  record(`cold start, ${label} (median of ${runs})`, round(m), 'ms', '< 250 ms', m < 250);
}

async function connect(sandbox, env = {}) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, '--airtable-url', sandbox.url, '--base', sandbox.baseIds[0], '--log-level', 'warn'],
    env: { ...process.env, AIRTABLE_TOKEN: sandbox.token, ...env },
  });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  return client;
}

async function getRecordsLatency(runs = 200) {
  // Server latency, not Airtable's 5 req/s: neither the sandbox nor the client throttles here.
  const sandbox = await startSandbox({ rateLimit: false });
  const client = await connect(sandbox, { AIRTABLE_BASE_RPS: '0', AIRTABLE_TOKEN_RPS: '0' });
  const args = { table_id: 'Tasks', max_records: 20 };
  for (let i = 0; i < 10; i++) await client.callTool({ name: 'get_records', arguments: args });
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await client.callTool({ name: 'get_records', arguments: args });
    times.push(performance.now() - t);
  }
  record(
    'get_records (20 records) p50',
    round(median(times), 2),
    'ms',
    '',
    true,
    `${runs} sequential calls over stdio, no rate limit`,
  );
  record('get_records (20 records) p99', round(quantile(times, 0.99), 2), 'ms', '', true);
  await textSize(client);
  await client.close();
  await sandbox.stop();
}

async function textSize(client) {
  const result = await client.callTool({
    name: 'get_records',
    arguments: { table_id: 'Tasks', max_records: 100 },
  });
  const { records } = result.structuredContent;
  const textBytes = Buffer.byteLength(result.content[0].text);
  const prettyBytes = Buffer.byteLength(JSON.stringify(records, null, 2));
  const ratio = textBytes / prettyBytes;
  record(
    'get_records text per record',
    round(textBytes / records.length),
    'bytes',
    '',
    true,
    `${records.length} Tasks records`,
  );
  record('  pretty JSON per record (same records)', round(prettyBytes / records.length), 'bytes', '', true);
  record('  text / pretty JSON', round(ratio * 100), '%', '<= 60 %', ratio <= 0.6);
}

async function batchCreate(count = 1000) {
  const sandbox = await startSandbox({
    rateLimit: { perBasePerSec: 5, perTokenPerSec: 50, penaltyMs: 30_000 },
  });
  const client = await connect(sandbox);
  const records = Array.from({ length: count }, (_, i) => ({ Title: `Bench task ${i}` }));
  const before = sandbox.stats();
  const t = performance.now();
  const result = await client.callTool(
    { name: 'batch_create_records', arguments: { table_id: 'Tasks', records } },
    undefined,
    { timeout: 300_000 },
  );
  const seconds = (performance.now() - t) / 1000;
  const stats = sandbox.stats();
  const base = stats.bases[sandbox.baseIds[0]];
  const floor = count / 10 / 5;
  const created = result.structuredContent?.created_count ?? result.structuredContent?.created ?? '?';
  record(
    `batch_create_records ${count} records, 5 req/s`,
    round(seconds, 2),
    's',
    `<= ${round(floor * 1.1, 1)} s (floor ${floor} s + 10 %)`,
    seconds <= floor * 1.1 && !result.isError,
    `created ${JSON.stringify(created)}, 429s ${stats.totals.rateLimited - before.totals.rateLimited}, max ${base?.maxPerSecond} req in any 1 s`,
  );
  await client.close();
  await sandbox.stop();
}

/** Latencies of `perSession` calls from each session, back to back (closed loop) or every `intervalMs` (open loop). */
async function driveSessions(url, ids, perSession, intervalMs) {
  const args = { table_id: 'Tasks', max_records: 20 };
  const times = [];
  const started = performance.now();
  await Promise.all(
    ids.map(async (id, s) => {
      // Spread the sessions' start times so an open loop offers a steady rate, not bursts.
      if (intervalMs) await sleep((intervalMs * s) / ids.length);
      for (let i = 0; i < perSession; i++) {
        const t = performance.now();
        await callTool(url, id, 'get_records', args);
        const elapsed = performance.now() - t;
        times.push(elapsed);
        if (intervalMs) await sleep(Math.max(0, intervalMs - elapsed));
      }
    }),
  );
  return { times, seconds: (performance.now() - started) / 1000 };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * get_records over Streamable HTTP with 50 sessions, server (and its sandbox)
 * in a child process, load from this one over keep-alive connections.
 * Saturation: every session calls back to back, so latency there is mostly
 * queueing behind the other 49. Steady load: each session calls every
 * 250 ms (200 calls/s offered), the condition for the p99 target.
 */
async function httpThroughput(sessions = 50) {
  const server = await spawnHttpCli();
  const url = `${server.url}/mcp`;
  const ids = await Promise.all(Array.from({ length: sessions }, () => openSession(url)));
  await driveSessions(url, ids, 5, 0); // warm-up
  const saturated = await driveSessions(url, ids, 60, 0);
  const rate = saturated.times.length / saturated.seconds;
  const note = `${sessions} sessions calling back to back`;
  record('HTTP get_records throughput at saturation', round(rate), 'calls/s', '', true, note);
  record(
    '  latency at saturation p50 / p99',
    `${round(median(saturated.times), 1)} / ${round(quantile(saturated.times, 0.99), 1)}`,
    'ms',
    '',
    true,
    'queueing included',
  );
  const steady = await driveSessions(url, ids, 60, 250);
  const p99 = quantile(steady.times, 0.99);
  const offered = `${sessions} sessions x 4 calls/s = ${sessions * 4} calls/s offered`;
  record('HTTP get_records p50 at steady load', round(median(steady.times), 2), 'ms', '', true, offered);
  record('HTTP get_records p99 at steady load', round(p99, 2), 'ms', '< 20 ms', p99 < 20);
  closeAgent();
  server.stop();
}

/** Heap retained per idle session, measured in a separate server process with --expose-gc. */
function idleSessionMemory(count = 500) {
  const run = spawnSync(process.execPath, ['--expose-gc', 'bench/idle-sessions.mjs', String(count)], {
    encoding: 'utf8',
  });
  const line = run.stdout.trim().split('\n').pop();
  const { heapBytesPerSession, rssBytesPerSession } = JSON.parse(line);
  const kb = heapBytesPerSession / 1024;
  record(`memory per idle HTTP session (heap, ${count} sessions)`, round(kb), 'KB', '< 50 KB', kb < 50);
  record(
    '  RSS growth per idle session',
    round(rssBytesPerSession / 1024),
    'KB',
    '',
    true,
    'includes heap headroom',
  );
}

/** The side-by-side table, as Markdown so it can be pasted into an issue. */
function printComparison({ peer, peerErrors, rows }) {
  const against = peer ? `${peer.package} ${peer.version}` : 'peer absent';
  console.log(`\n| figure | ours | ${against} | ratio | goal |\n|---|---|---|---|---|`);
  for (const r of rows) {
    const verdict = r.pass === undefined ? '' : r.pass ? ' ok' : ' MISSED';
    const peerValue = r.peer === undefined ? '-' : `${r.peer} ${r.unit}`;
    console.log(
      `| ${r.figure} | ${r.ours} ${r.unit} | ${peerValue} | ${r.ratio ?? '-'} | ${r.goal ?? ''}${verdict} |`,
    );
  }
  if (peerErrors) console.log(peerErrors);
}

async function main() {
  // `node bench/run.mjs stdio|http|compare` runs one group; no argument runs everything.
  const only = process.argv[2];
  let comparison;
  if (!only || only === 'compare') comparison = await compareWithPeer(record);
  if (!only || only === 'stdio') {
    const sandbox = await startSandbox({ rateLimit: false });
    await coldStart('with a token', ['--airtable-url', sandbox.url], { AIRTABLE_TOKEN: sandbox.token });
    await sandbox.stop();
    await coldStart('--sandbox (in-process sandbox + demo data)', ['--sandbox'], {});
    await getRecordsLatency();
    await batchCreate();
  }
  if (!only || only === 'http') {
    await httpThroughput();
    idleSessionMemory();
  }
  if (!only || only === 'console') (await import('./console-size.mjs')).consoleSize(record);

  const width = Math.max(...results.map((r) => r.name.length));
  console.log(`\n${'measure'.padEnd(width)}  ${'value'.padStart(10)}  target`);
  for (const r of results) {
    const verdict = r.target ? (r.pass ? 'ok' : 'MISSED') : '';
    console.log(
      `${r.name.padEnd(width)}  ${`${r.value} ${r.unit}`.padStart(10)}  ${r.target} ${verdict}${r.note ? `  (${r.note})` : ''}`,
    );
  }
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: round(totalmem() / 2 ** 30),
  };
  mkdirSync('bench/results', { recursive: true });
  const file = 'bench/results/latest.json';
  const report = { date: new Date().toISOString(), machine, results, comparison };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  if (comparison) printComparison(comparison);
  console.log(`\nwritten to ${file}`);
}

await main();
