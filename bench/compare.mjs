// Side by side with the most used peer, airtable-mcp-server 1.14.0, on the same sandbox in one run.
//   node bench/run.mjs compare
// The peer is taken from PEER_MCP_DIR (its package folder), node_modules (a dev dependency) or
// /tmp/peer (`npm install --prefix /tmp/peer airtable-mcp-server@1.14.0`); otherwise it is fetched
// from the npm registry into a temporary folder (BENCH_NO_FETCH=1 skips that). Both servers are
// spawned over stdio and driven by a raw JSON-RPC client, so "bytes on the wire" are the exact lines
// each server writes. Without the peer the bench says so and measures our column only.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startSandbox } from 'airtable-mcp-kit';

// BENCH_CLI measures another build (e.g. a private `npx tsup --out-dir dist.build-bench`), so that a
// test run elsewhere that replaces dist/ mid-measurement cannot stall or skew the figures.
export const CLI = process.env.BENCH_CLI ?? 'dist/cli.js';
const PEER = 'airtable-mcp-server@1.14.0';
const FETCHED_PREFIX = join(tmpdir(), 'airtable-mcp-kit-bench-peer');
const PEER_DIRS = process.env.PEER_MCP_DIR
  ? [resolve(process.env.PEER_MCP_DIR)]
  : [
      resolve('node_modules/airtable-mcp-server'),
      '/tmp/peer/node_modules/airtable-mcp-server',
      join(FETCHED_PREFIX, 'node_modules/airtable-mcp-server'),
    ];
const mainOf = (dir) => `${dir}/dist/main.js`;
let PEER_DIR = PEER_DIRS.find((dir) => existsSync(mainOf(dir))) ?? PEER_DIRS.at(-1);

/** Fetches the peer into a temporary folder when it is nowhere to be found; false if that failed. */
function ensurePeer() {
  if (existsSync(mainOf(PEER_DIR))) return true;
  if (process.env.PEER_MCP_DIR || process.env.BENCH_NO_FETCH === '1') return false;
  console.log(`fetching ${PEER} into ${FETCHED_PREFIX} for the side-by-side figures…`);
  try {
    execFileSync(
      'npm',
      ['install', '--prefix', FETCHED_PREFIX, PEER, '--no-audit', '--no-fund', '--silent'],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 180_000,
      },
    );
  } catch (error) {
    console.log(`could not fetch the peer: ${error.message}`);
    return false;
  }
  PEER_DIR = join(FETCHED_PREFIX, 'node_modules/airtable-mcp-server');
  return existsSync(mainOf(PEER_DIR));
}
const REDIRECT = pathToFileURL(resolve('bench/peer-redirect.mjs')).href;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const kb = (bytes) => round(bytes / 1024);
const INIT = {
  protocolVersion: '2025-06-18',
  capabilities: {},
  clientInfo: { name: 'bench', version: '1' },
};

/** How to launch each server against the sandbox, and how each names the same read. */
function servers(sandbox) {
  const baseId = sandbox.baseIds[0];
  const ours = {
    name: 'ours',
    args: [CLI, '--airtable-url', sandbox.url, '--base', baseId, '--log-level', 'warn'],
    env: { AIRTABLE_TOKEN: sandbox.token, AIRTABLE_BASE_RPS: '0', AIRTABLE_TOKEN_RPS: '0' },
    read: (n) => ({ name: 'get_records', arguments: { table_id: 'Tasks', max_records: n } }),
  };
  const peer = {
    name: 'peer',
    args: ['--import', REDIRECT, mainOf(PEER_DIR)],
    env: { AIRTABLE_API_KEY: sandbox.token, BENCH_AIRTABLE_URL: sandbox.url },
    read: (n) => ({ name: 'list_records', arguments: { baseId, tableId: 'Tasks', maxRecords: n } }),
  };
  return ensurePeer() ? [ours, peer] : [ours];
}

/** A server over stdio with line-delimited JSON-RPC; `request` resolves with the reply and its size in bytes. */
function open(server) {
  const child = spawn(process.execPath, server.args, {
    env: { ...process.env, ...server.env },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const pending = new Map();
  let buffer = '';
  let nextId = 1;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const message = JSON.parse(line);
      pending.get(message.id)?.done({ message, bytes: Buffer.byteLength(line) + 1 });
      pending.delete(message.id);
    }
  });
  // A server that exits (or cannot start) fails its pending requests instead of stalling the bench.
  let exited;
  child.once('exit', (code, signal) => {
    exited = new Error(`${server.name} exited (${signal ?? code}) before answering`);
    for (const { fail } of pending.values()) fail(exited);
    pending.clear();
  });
  child.stdin.on('error', () => {}); // EPIPE after an early exit; reported through 'exit'
  const send = (message) => child.stdin.write(`${JSON.stringify(message)}\n`);
  return {
    child,
    request(method, params) {
      if (exited) return Promise.reject(exited);
      const id = nextId++;
      send({ jsonrpc: '2.0', id, method, params });
      return new Promise((done, fail) => pending.set(id, { done, fail }));
    },
    notify: (method) => send({ jsonrpc: '2.0', method }),
    close: () => child.kill('SIGTERM'),
  };
}

async function session(server) {
  const s = open(server);
  await s.request('initialize', INIT);
  s.notify('notifications/initialized');
  return s;
}

/** Spawn → initialize reply, and spawn → tools/list reply (ready to call tools), in milliseconds. */
async function coldStartOnce(server) {
  const started = performance.now();
  const s = open(server);
  const exit = new Promise((done) => s.child.once('exit', done));
  try {
    await s.request('initialize', INIT);
    const init = performance.now() - started;
    s.notify('notifications/initialized');
    await s.request('tools/list', {});
    return { init, list: performance.now() - started };
  } finally {
    s.close();
    await exit;
  }
}

/**
 * A start that fails is tried again (up to 3 times) and counted: on a shared machine another
 * test run may be replacing dist/ just then. A server that never starts fails the bench.
 */
async function coldStartRetried(server, failures) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await coldStartOnce(server);
    } catch (error) {
      failures.push(error.message);
      if (attempt === 3) throw error;
      await new Promise((done) => setTimeout(done, 1000));
    }
  }
}

/**
 * Median (and spread, to judge the machine's noise) of `runs` starts per server, alternating; `.list`
 * holds the same for the tools/list reply.
 */
export async function coldStarts(list, runs) {
  const failures = [];
  for (const server of list) await coldStartRetried(server, failures); // warm the OS file cache
  const times = new Map(list.map((s) => [s.name, { init: [], list: [] }]));
  for (let i = 0; i < runs; i++) {
    // Alternating, so a noisy moment on the machine hits both columns alike.
    for (const server of list) {
      const { init, list: listed } = await coldStartRetried(server, failures);
      times.get(server.name).init.push(init);
      times.get(server.name).list.push(listed);
    }
  }
  const summarize = (key) =>
    Object.fromEntries(
      [...times].map(([name, t]) => [
        name,
        { median: round(median(t[key])), min: round(Math.min(...t[key])), max: round(Math.max(...t[key])) },
      ]),
    );
  return { ...summarize('init'), list: { ...summarize('list'), failures }, failures };
}

/** What a model reads of tools/list: each tool's name, description and input schema. */
function modelBytes(tools) {
  return tools.reduce(
    (sum, t) => sum + Buffer.byteLength(t.name + (t.description ?? '') + JSON.stringify(t.inputSchema ?? {})),
    0,
  );
}

const textOf = (result) =>
  result.content
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');

async function measureSession(server, calls) {
  const s = await session(server);
  const list = await s.request('tools/list', {});
  const tools = list.message.result.tools;
  const hundred = (await s.request('tools/call', server.read(100))).message.result;
  for (let i = 0; i < 20; i++) await s.request('tools/call', server.read(10)); // warm-up
  const times = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await s.request('tools/call', server.read(10));
    times.push(performance.now() - t);
  }
  s.close();
  return {
    tools: tools.length,
    modelBytes: modelBytes(tools),
    wireBytes: list.bytes,
    hundredText: Buffer.byteLength(textOf(hundred)),
    hundredWhole: Buffer.byteLength(JSON.stringify(hundred)),
    hundredIsError: hundred.isError === true,
    read10: round(median(times), 2),
  };
}

/**
 * Records each figure as `ours` with the peer's value and the ratio in the note, and returns the
 * comparison table for the results file.
 */
export async function compareWithPeer(record, { runs = 10, calls = 200 } = {}) {
  const sandbox = await startSandbox({ rateLimit: false });
  try {
    const list = servers(sandbox);
    const hasPeer = list.length === 2;
    if (!hasPeer) {
      console.log(
        `peer airtable-mcp-server absent (looked in ${PEER_DIRS.join(', ')}); install it with ` +
          `\`npm install --prefix /tmp/peer ${PEER}\` or set PEER_MCP_DIR. Measuring ours only.`,
      );
    }
    const start = await coldStarts(list, runs);
    const sandboxStart = await coldStarts(
      [{ name: 'ours', args: [CLI, '--sandbox', '--log-level', 'warn'], env: {} }],
      runs,
    );
    const measured = {};
    for (const server of list) measured[server.name] = await measureSession(server, calls);
    const ours = measured.ours;
    const peer = measured.peer;
    const rows = [
      [
        `cold start, spawn → initialize reply (median of ${runs}, alternating)`,
        start.ours.median,
        start.peer?.median,
        'ms',
        0.5,
        spread(start),
      ],
      [
        `cold start, spawn → tools/list reply: ready to call tools (median of ${runs}, alternating)`,
        start.list.ours.median,
        start.list.peer?.median,
        'ms',
        undefined,
        spread(start.list),
      ],
      [
        `cold start with --sandbox (ours only; median of ${runs})`,
        sandboxStart.ours.median,
        undefined,
        'ms',
        undefined,
        spread(sandboxStart),
      ],
      [
        `tools/list bytes a model reads (name + description + input schema; ${ours.tools} vs ${peer?.tools ?? '-'} tools)`,
        kb(ours.modelBytes),
        peer && kb(peer.modelBytes),
        'KB',
        1.2,
      ],
      ['tools/list bytes on the wire', kb(ours.wireBytes), peer && kb(peer.wireBytes), 'KB', 1.5],
      [
        '100 Tasks records: text the model reads',
        kb(ours.hundredText),
        peer && kb(peer.hundredText),
        'KB',
        0.5,
      ],
      [
        '100 Tasks records: whole tool result (text + structuredContent)',
        kb(ours.hundredWhole),
        peer && kb(peer.hundredWhole),
        'KB',
        0.6,
      ],
      [`read 10 records, median per call of ${calls}, throttles off`, ours.read10, peer?.read10, 'ms', 1.0],
    ];
    const comparison = rows.map(([figure, oursValue, peerValue, unit, goal, range]) => {
      const ratio = peerValue ? round(oursValue / peerValue, 2) : undefined;
      const pass = goal === undefined || ratio === undefined ? undefined : ratio <= goal;
      const target = goal === undefined ? '' : `<= ${goal}x peer`;
      const note = [peerValue === undefined ? '' : `peer ${peerValue} ${unit}, ratio ${ratio}`, range]
        .filter(Boolean)
        .join('; ');
      record(`vs peer: ${figure}`, oursValue, unit, ratio === undefined ? '' : target, pass ?? true, note);
      return {
        figure,
        ours: oursValue,
        peer: peerValue,
        unit,
        ratio,
        goal: goal && `<= ${goal}x`,
        pass,
        ...(range ? { range } : {}),
      };
    });
    return {
      peer: hasPeer ? { package: 'airtable-mcp-server', version: peerVersion(), dir: PEER_DIR } : null,
      peerErrors: peer?.hundredIsError ? 'the peer answered the 100-record read with isError' : undefined,
      rows: comparison,
    };
  } finally {
    await sandbox.stop();
  }
}

/** "ours 180-260 ms, peer 300-420 ms" (min-max of the runs), plus any start that had to be retried. */
function spread(starts) {
  const ranges = ['ours', 'peer']
    .filter((name) => starts[name])
    .map((name) => `${name} ${starts[name].min}-${starts[name].max} ms`);
  const retried = starts.failures.length ? `, ${starts.failures.length} failed start(s) retried` : '';
  return `range ${ranges.join(', ')}${retried}`;
}

function peerVersion() {
  return JSON.parse(readFileSync(`${PEER_DIR}/package.json`, 'utf8')).version;
}
