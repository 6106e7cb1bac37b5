// A light load generator for the HTTP benchmarks: raw keep-alive HTTP
// requests speaking MCP's Streamable HTTP (JSON-RPC in, SSE or JSON out), so
// that the measurement is the server's and not the client library's.
import { Agent, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function post(url, body, sessionId) {
  const target = new URL(url);
  const payload = JSON.stringify(body);
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'content-length': Buffer.byteLength(payload),
    ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The JSON-RPC message in a response body, whether sent as JSON or as one SSE event. */
function message(text) {
  const data = text.split('\n').find((l) => l.startsWith('data: '));
  return JSON.parse(data ? data.slice(6) : text);
}

export async function openSession(url) {
  const init = {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
  };
  const res = await post(url, init);
  const id = res.headers['mcp-session-id'];
  await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, id);
  return id;
}

let nextId = 1;
/** One tools/call; rejects when the call fails or the tool reports an error. */
export async function callTool(url, sessionId, name, args) {
  const res = await post(
    url,
    { jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } },
    sessionId,
  );
  const reply = message(res.text);
  if (res.status !== 200 || reply.error || reply.result?.isError)
    throw new Error(`${name} failed: ${res.text.slice(0, 300)}`);
  return reply.result;
}

export function closeAgent() {
  agent.destroy();
}
