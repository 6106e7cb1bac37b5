/**
 * Shared steps of the platform's HTTP tests: a server with the platform
 * module (and others when asked), a server key for the admin routes,
 * users created through POST /api/users (registration is limited per
 * address, so tests create people as an admin), sign-in, and an MCP client
 * that sends a given credential.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';
import type { ModuleDefinition } from '../../src/app/module.js';
import platformModule from '../../src/platform/index.js';
import { generateApiKey } from '../../src/store/api-keys.js';
import { type AppServer, startAppServer } from './app-server.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are loosely shaped JSON in these tests
export type Json = any;

export const DEMO_BASE = 'appSandboxDemo001';
export const ARCHIVE_BASE = 'appSandboxArchive';
/** A password the policy accepts (long, not on the common list). */
export const PASSWORD = 'violet tractor under moonlight';

export interface PlatformServer extends AppServer {
  /** A server key: an admin without a user. */
  serverKey: string;
  /** A request answered as JSON (or null for an empty body), with its status and headers. */
  call(
    method: string,
    path: string,
    token?: string,
    json?: unknown,
    headers?: Record<string, string>,
  ): Promise<Reply>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Json;
  text: string;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  user: Json;
}

export async function startPlatform(
  env: Record<string, string | undefined> = {},
  extraModules: readonly ModuleDefinition[] = [],
): Promise<PlatformServer> {
  const serverKey = generateApiKey();
  const server = await startAppServer({
    modules: [platformModule, ...extraModules],
    env: { API_KEY: serverKey, SANDBOX_RATE_LIMIT: '0', ...env },
  });
  return {
    ...server,
    serverKey,
    async call(method, path, token, json, headers = {}) {
      const res = await server.fetch(path, { method, token, json, headers });
      const text = await res.text();
      let body: Json = null;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      return { status: res.status, headers: res.headers, body, text };
    },
  };
}

let counter = 0;
/** A fresh, unique email for this test run. */
export function email(name: string): string {
  counter += 1;
  return `${name}.${process.pid}.${counter}@example.com`;
}

/** A user made by an admin (the server key); returns the User. */
export async function createUser(
  server: PlatformServer,
  fields: { email: string; password?: string; role?: 'admin' | 'member'; allowed_bases?: '*' | string[] },
): Promise<Json> {
  const res = await server.call('POST', '/api/users', server.serverKey, { password: PASSWORD, ...fields });
  expect(res.status, `POST /api/users ${res.text}`).toBe(201);
  return res.body;
}

export async function login(
  server: PlatformServer,
  address: string,
  password = PASSWORD,
): Promise<TokenPair> {
  const res = await server.call('POST', '/api/auth/login', undefined, { email: address, password });
  expect(res.status, `POST /api/auth/login ${res.text}`).toBe(200);
  return res.body as TokenPair;
}

/** A user created by the admin and signed in. */
export async function signedInUser(
  server: PlatformServer,
  name: string,
  fields: { role?: 'admin' | 'member'; allowed_bases?: '*' | string[] } = {},
): Promise<TokenPair & { email: string }> {
  const address = email(name);
  await createUser(server, { email: address, ...fields });
  return { ...(await login(server, address)), email: address };
}

/** A personal key of the signed-in user; returns the created key (with its secret). */
export async function createKey(
  server: PlatformServer,
  accessToken: string,
  fields: { name?: string; scopes: string[]; bases?: '*' | string[]; expires_at?: string },
): Promise<Json> {
  const res = await server.call('POST', '/api/keys', accessToken, { name: 'test key', ...fields });
  expect(res.status, `POST /api/keys ${res.text}`).toBe(201);
  return res.body;
}

export async function mcpClient(
  server: AppServer,
  credential: string,
  header = 'Authorization',
): Promise<Client> {
  const client = new Client({ name: 'platform-test', version: '1.0.0' });
  const value = header === 'Authorization' ? `Bearer ${credential}` : credential;
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
    requestInit: { headers: { [header]: value } },
  });
  await client.connect(transport);
  return client;
}

export function toolText(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** Requests the sandbox received for one base so far. */
export function sandboxRequests(server: AppServer, baseId: string): number {
  return server.handle.app.target.sandbox?.stats().bases[baseId]?.requests ?? 0;
}

export function expectProblem(reply: Reply, status: number): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(reply.body).toMatchObject({ status, title: expect.any(String) });
}
