/**
 * A bare MCP `initialize` request over HTTP, for tests that check how the
 * endpoint answers a credential (status, headers) without an SDK client.
 */

/** POSTs an MCP `initialize` to `mcpUrl` with the given credential headers; the caller reads or cancels the body. */
export function postMcpInitialize(
  mcpUrl: string,
  headers: Record<string, string>,
  clientName = 'test',
): Promise<Response> {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: {
      ...headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: clientName, version: '1' },
      },
    }),
  });
}
