/**
 * The console's only way to the server: the public /api, same origin, under
 * whatever base path the page was served from. The access token lives in
 * memory only; the refresh token is an HttpOnly cookie the server sets when
 * a request carries `X-Console: 1` (a custom header, so a cross-site page
 * cannot forge these requests without a CORS preflight the server refuses).
 */

export interface FieldProblem {
  field: string;
  message: string;
}

/** An RFC 9457 problem (or a network failure, status 0) in a form a page can show where it happened. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: readonly FieldProblem[] = [],
    readonly body: Record<string, unknown> = {},
  ) {
    super(detail || title);
  }
  /** The message for one input, when the server named it. */
  fieldMessage(field: string): string | undefined {
    return this.errors.find((e) => e.field === field || e.field.endsWith(`.${field}`))?.message;
  }
}

export interface User {
  id: string;
  email: string;
  first_name?: string | null;
  last_name?: string | null;
  role: 'admin' | 'member';
  created_at?: string;
  allowed_bases?: '*' | string[] | null;
}

interface TokenAnswer {
  access_token: string;
  expires_in?: number;
  user: User;
}

/** The page's directory: index.html is always served at the base path's root (routing is in the hash). */
function consoleRoot(): string {
  const here = location.href.split('#')[0]!.split('?')[0]!;
  return here.endsWith('/') ? here : here.replace(/[^/]*$/, '');
}

export function apiUrl(path: string): string {
  return new URL(`api${path}`, consoleRoot()).toString();
}

type Listener = () => void;

/** The signed-in state: the user and their access token, in memory only. */
class Session {
  user: User | undefined;
  private token: string | undefined;
  private refreshing: Promise<boolean> | undefined;
  private listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  get signedIn(): boolean {
    return this.token !== undefined;
  }

  accept(answer: TokenAnswer): void {
    this.token = answer.access_token;
    this.user = answer.user;
    this.emit();
  }

  clear(): void {
    const was = this.token !== undefined;
    this.token = undefined;
    this.user = undefined;
    if (was) this.emit();
  }

  authorization(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** Trade the refresh cookie for a new access token; one attempt at a time. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const answer = await send<TokenAnswer>('POST', '/auth/refresh', {}, { auth: false });
        this.accept(answer);
        return true;
      } catch {
        this.clear();
        return false;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

export const session = new Session();

interface SendOptions {
  /** Send the access token (and refresh once on a 401). Default true. */
  auth?: boolean;
  signal?: AbortSignal;
  accept?: string;
}

async function problemFrom(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  // The core's own errors are `{error: {code, message}}`; /api answers problem+json.
  const legacy = body.error as { message?: string } | undefined;
  const title =
    typeof body.title === 'string' ? body.title : response.statusText || `HTTP ${response.status}`;
  const detail = typeof body.detail === 'string' ? body.detail : (legacy?.message ?? title);
  const errors = Array.isArray(body.errors) ? (body.errors as FieldProblem[]) : [];
  return new ApiError(response.status, title, detail, errors, body);
}

/** One request; answers the raw response when it is OK, throws ApiError otherwise. */
export async function request(
  method: string,
  path: string,
  body?: unknown,
  options: SendOptions = {},
): Promise<Response> {
  const attempt = () => {
    const headers: Record<string, string> = {
      'X-Console': '1',
      Accept: options.accept ?? 'application/json',
      ...(options.auth === false ? {} : session.authorization()),
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(apiUrl(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: options.signal,
    });
  };
  let response: Response;
  try {
    response = await attempt();
    if (response.status === 401 && options.auth !== false && session.signedIn) {
      if (await session.refresh()) response = await attempt();
    }
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(
      0,
      'Network error',
      'The server could not be reached. Check the connection and retry.',
    );
  }
  if (!response.ok) throw await problemFrom(response);
  return response;
}

export async function send<T>(
  method: string,
  path: string,
  body?: unknown,
  options?: SendOptions,
): Promise<T> {
  const response = await request(method, path, body, options);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => send<T>('GET', path, undefined, { signal });

export interface ServerEvent {
  event: string;
  data: unknown;
}

/**
 * Server-sent events from a POST (EventSource can only GET and cannot send
 * headers). Calls `onEvent` for each event as it arrives.
 */
export async function streamEvents(response: Response, onEvent: (event: ServerEvent) => void): Promise<void> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let boundary = buffer.search(/\r?\n\r?\n/);
    while (boundary !== -1) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '');
      dispatch(block, onEvent);
      boundary = buffer.search(/\r?\n\r?\n/);
    }
  }
  if (buffer.trim()) dispatch(buffer, onEvent);
}

function dispatch(block: string, onEvent: (event: ServerEvent) => void): void {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return;
  const raw = data.join('\n');
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // A plain-text event: passed on as a string.
  }
  // Some servers put the type inside the data instead of an `event:` line.
  if (event === 'message' && parsed && typeof parsed === 'object' && 'type' in parsed) {
    event = String((parsed as { type: unknown }).type);
  }
  onEvent({ event, data: parsed });
}

// ---- The platform's sign-in routes -------------------------------------------------------------

export async function signIn(email: string, password: string): Promise<void> {
  session.accept(await send<TokenAnswer>('POST', '/auth/login', { email, password }, { auth: false }));
}

export async function register(fields: {
  email: string;
  password: string;
  first_name?: string;
  last_name?: string;
}): Promise<void> {
  session.accept(await send<TokenAnswer>('POST', '/auth/register', fields, { auth: false }));
}

export async function signOut(): Promise<void> {
  try {
    await send('POST', '/auth/logout', {});
  } finally {
    session.clear();
  }
}

/** A file download from data already in memory (the export), without navigating away. */
export function download(filename: string, content: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
