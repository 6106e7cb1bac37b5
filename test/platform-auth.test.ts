/**
 * Sign-in security over real HTTP against the platform module: response
 * shapes, registration open/closed, enumeration (status, body and timing),
 * lockout and the per-address limit, refresh rotation and reuse revoking
 * the family, logout and logout-all, forged and expired JWTs, and the
 * console's HttpOnly refresh cookie.
 */
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postMcpInitialize } from './helpers/mcp-http.js';
import {
  createUser,
  email,
  expectProblem,
  type Json,
  login,
  PASSWORD,
  type PlatformServer,
  signedInUser,
  startPlatform,
} from './helpers/platform-http.js';

const JWT_SECRET = 'platform-auth-test-secret-0123456789abcdef';
const ISSUER = 'airtable-mcp-kit';
const AUDIENCE = 'airtable-mcp-kit/api';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('platform sign-in over HTTP', () => {
  let server: PlatformServer;
  beforeAll(async () => {
    server = await startPlatform({
      REGISTRATION: 'open',
      JWT_SECRET,
      // Enumeration timing and the many sign-ins below must not trip the throttle here.
      LOGIN_LOCKOUT_THRESHOLD: '1000',
      LOGIN_ADDRESS_LIMIT: '100000',
    });
  });
  afterAll(() => server?.close());

  it('registers (201) and signs in (200) with the documented token response', async () => {
    const address = email('reg');
    const reg = await server.call('POST', '/api/auth/register', undefined, {
      email: address,
      password: PASSWORD,
      first_name: 'Grace',
      last_name: 'Hopper',
    });
    expect(reg.status, reg.text).toBe(201);
    expect(reg.body).toMatchObject({
      access_token: expect.stringMatching(/^eyJ/),
      refresh_token: expect.stringMatching(/^rt_/),
      token_type: 'bearer',
      expires_in: 900,
      user: {
        id: expect.any(String),
        email: address,
        first_name: 'Grace',
        last_name: 'Hopper',
        role: 'member',
        allowed_bases: '*',
        disabled: false,
        created_at: expect.any(String),
      },
    });
    expect(reg.body.user).not.toHaveProperty('password_hash');
    const signIn = await server.call('POST', '/api/auth/login', undefined, {
      email: address,
      password: PASSWORD,
    });
    expect(signIn.status).toBe(200);
    expect(signIn.body).toMatchObject({
      token_type: 'bearer',
      expires_in: 900,
      user: { id: reg.body.user.id },
    });
    expect(signIn.body.user.last_login_at).toEqual(expect.any(String));
    // The documented JWT header and claims.
    const [header, payload] = signIn.body.access_token
      .split('.')
      .slice(0, 2)
      .map((part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    expect(header).toMatchObject({ alg: 'HS256', typ: 'at+jwt' });
    expect(payload).toMatchObject({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: reg.body.user.id,
      token_type: 'access',
    });
    expect(payload.exp - payload.iat).toBe(900);
    expect(payload.jti).toEqual(expect.any(String));

    const verify = await server.call('GET', '/api/auth/verify', signIn.body.access_token);
    expect(verify.body).toMatchObject({ valid: true, user: { id: reg.body.user.id, email: address } });
    const patched = await server.call('PATCH', '/api/auth/profile', signIn.body.access_token, {
      first_name: 'Amazing',
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ first_name: 'Amazing', last_name: 'Hopper' });
    const profile = await server.call('GET', '/api/auth/profile', signIn.body.access_token);
    expect(profile.body).toMatchObject({ email: address, first_name: 'Amazing' });
  });

  it('answers 409 naming email for a taken one (any case), 400 naming the bad fields', async () => {
    const address = email('taken');
    await createUser(server, { email: address });
    const taken = await server.call('POST', '/api/auth/register', undefined, {
      email: address.toUpperCase(),
      password: PASSWORD,
    });
    expectProblem(taken, 409);
    expect(taken.body.errors[0].field).toBe('email');

    const bad = await server.call('POST', '/api/auth/register', undefined, { email: 'not-an-email' });
    expectProblem(bad, 400);
    expect(bad.body.errors.map((e: Json) => e.field).sort()).toEqual(['email', 'password']);
    const short = await server.call('POST', '/api/auth/register', undefined, {
      email: email('short'),
      password: 'short',
    });
    expectProblem(short, 400);
    expect(short.body.errors.map((e: Json) => e.field)).toEqual(['password']);
    const common = await server.call('POST', '/api/auth/register', undefined, {
      email: email('common'),
      password: 'password123',
    });
    expectProblem(common, 400);
    expect(common.body.errors.map((e: Json) => e.field)).toEqual(['password']);
    // Nothing echoes the password.
    expect(common.text).not.toContain('password123');
  });

  it('gives an unknown email and a wrong password the same status and body, in similar time', async () => {
    const known = email('enum');
    await createUser(server, { email: known });
    const attempt = async (address: string) => {
      const started = performance.now();
      const res = await server.call('POST', '/api/auth/login', undefined, {
        email: address,
        password: 'wrong guess 123',
      });
      return { ms: performance.now() - started, res };
    };
    // Warm both paths (the unknown-email path makes its dummy hash once).
    await attempt(known);
    await attempt(email('nobody'));
    const wrong: number[] = [];
    const unknown: number[] = [];
    let wrongBody: Json;
    let unknownBody: Json;
    for (let i = 0; i < 7; i++) {
      const a = await attempt(known);
      const b = await attempt(email('nobody'));
      expect(a.res.status).toBe(401);
      expect(b.res.status).toBe(401);
      wrong.push(a.ms);
      unknown.push(b.ms);
      wrongBody = a.res.body;
      unknownBody = b.res.body;
      expect(a.res.headers.get('content-type')).toBe(b.res.headers.get('content-type'));
    }
    // Every problem carries its own request_id; everything else must be identical.
    const { request_id: _a, ...wrongRest } = wrongBody;
    const { request_id: _b, ...unknownRest } = unknownBody;
    expect(unknownRest).toEqual(wrongRest);
    expect(wrongBody).toMatchObject({ status: 401, detail: 'Invalid email or password' });
    const [mw, mu] = [median(wrong), median(unknown)];
    // Both verify an Argon2id hash (tens of ms); a skipped hash would make one side several times faster.
    expect(
      Math.min(mw, mu) / Math.max(mw, mu),
      `medians ${mw.toFixed(1)} vs ${mu.toFixed(1)} ms`,
    ).toBeGreaterThan(0.5);
  });

  it('refresh rotates: a new pair, the old token dead (after its successor is used), the family revoked on reuse', async () => {
    const user = await signedInUser(server, 'rotate');
    const first = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: user.refresh_token,
    });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'bearer', expires_in: 900, user: { id: user.user.id } });
    expect(first.body.refresh_token).not.toBe(user.refresh_token);
    const second = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: first.body.refresh_token,
    });
    expect(second.status).toBe(200);
    // The first token again, after its successor was used: reuse, the whole sign-in dies.
    const reuse = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: user.refresh_token,
    });
    expectProblem(reuse, 401);
    // The newest token of that sign-in fails too.
    const newest = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: second.body.refresh_token,
    });
    expectProblem(newest, 401);
    // Another sign-in of the same person is not touched.
    const other = await login(server, user.email);
    const otherRefresh = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: other.refresh_token,
    });
    expect(otherRefresh.status).toBe(200);
  });

  it('a retry within the grace window with an unused successor gets a new pair (a lost response)', async () => {
    const user = await signedInUser(server, 'grace');
    const lost = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: user.refresh_token,
    });
    expect(lost.status).toBe(200);
    const retry = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: user.refresh_token,
    });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.body.refresh_token).not.toBe(lost.body.refresh_token);
    const lostUse = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: lost.body.refresh_token,
    });
    expectProblem(lostUse, 401);
    const retryUse = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: retry.body.refresh_token,
    });
    expect(retryUse.status).toBe(200);
  });

  it('reuse after the 10 s grace window revokes the family even when the successor was never used', async () => {
    const user = await signedInUser(server, 'late-reuse');
    const next = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: user.refresh_token,
    });
    expect(next.status).toBe(200);
    await sleep(10_600);
    const reuse = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: user.refresh_token,
    });
    expectProblem(reuse, 401);
    expect(reuse.body.detail).toMatch(/already used/);
    expectProblem(
      await server.call('POST', '/api/auth/refresh', undefined, { refresh_token: next.body.refresh_token }),
      401,
    );
  });

  it('passwords: 8 to at least 128 characters accepted, no composition rules; sign-in ignores email case', async () => {
    const long = 'a long passphrase with spaces and no digits '.repeat(3).slice(0, 128);
    const address = email('long');
    const reg = await server.call('POST', '/api/auth/register', undefined, {
      email: address,
      password: long,
    });
    expect(reg.status, reg.text).toBe(201);
    await login(server, address.toUpperCase(), long);
    const tooLong = await server.call('POST', '/api/auth/register', undefined, {
      email: email('toolong'),
      password: 'x'.repeat(257),
    });
    expectProblem(tooLong, 400);
    expect(tooLong.body.errors[0].field).toBe('password');
    const eight = await server.call('POST', '/api/auth/register', undefined, {
      email: email('eight'),
      password: 'qz7!mLp0',
    });
    expect(eight.status, eight.text).toBe(201);
    const seven = await server.call('POST', '/api/auth/register', undefined, {
      email: email('seven'),
      password: 'qz7!mLp',
    });
    expectProblem(seven, 400);
  });

  it('refuses unknown and malformed refresh tokens with 401', async () => {
    for (const refresh_token of ['rt_' + 'A'.repeat(43), 'nonsense', '']) {
      expectProblem(await server.call('POST', '/api/auth/refresh', undefined, { refresh_token }), 401);
    }
  });

  it('logout ends that sign-in’s refresh tokens; logout-all also kills access tokens already issued', async () => {
    const user = await signedInUser(server, 'logout');
    const second = await login(server, user.email);
    const out = await server.call('POST', '/api/auth/logout', undefined, {
      refresh_token: user.refresh_token,
    });
    expect(out.status).toBe(204);
    expect(out.text).toBe('');
    expectProblem(
      await server.call('POST', '/api/auth/refresh', undefined, { refresh_token: user.refresh_token }),
      401,
    );
    // The other sign-in still works, and so does the access token (it lives out its 15 minutes).
    const rotated = await server.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: second.refresh_token,
    });
    expect(rotated.status).toBe(200);
    expect((await server.call('GET', '/api/auth/verify', second.access_token)).status).toBe(200);

    const all = await server.call('POST', '/api/auth/logout-all', rotated.body.access_token);
    expect(all.status).toBe(204);
    for (const token of [second.access_token, rotated.body.access_token, user.access_token]) {
      expectProblem(await server.call('GET', '/api/auth/verify', token), 401);
    }
    expectProblem(
      await server.call('POST', '/api/auth/refresh', undefined, {
        refresh_token: rotated.body.refresh_token,
      }),
      401,
    );
    // Signing in again works.
    const again = await login(server, user.email);
    expect((await server.call('GET', '/api/auth/verify', again.access_token)).status).toBe(200);
  });

  it('changing the password needs the current one (403 naming it) and ends every earlier token', async () => {
    const user = await signedInUser(server, 'passwd');
    const wrong = await server.call('POST', '/api/auth/password', user.access_token, {
      current_password: 'not my password',
      new_password: 'marble otter kitchen sunrise',
    });
    expectProblem(wrong, 403);
    expect(wrong.body.errors[0].field).toBe('current_password');
    const changed = await server.call('POST', '/api/auth/password', user.access_token, {
      current_password: PASSWORD,
      new_password: 'marble otter kitchen sunrise',
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({ token_type: 'bearer', access_token: expect.any(String) });
    expectProblem(await server.call('GET', '/api/auth/verify', user.access_token), 401);
    expectProblem(
      await server.call('POST', '/api/auth/refresh', undefined, { refresh_token: user.refresh_token }),
      401,
    );
    expect((await server.call('GET', '/api/auth/verify', changed.body.access_token)).status).toBe(200);
    const oldPassword = await server.call('POST', '/api/auth/login', undefined, {
      email: user.email,
      password: PASSWORD,
    });
    expectProblem(oldPassword, 401);
    await login(server, user.email, 'marble otter kitchen sunrise');
  });

  describe('forged access tokens', () => {
    let userId: string;
    let goodToken: string;
    const secret = new TextEncoder().encode(JWT_SECRET);
    const claims = () => ({ token_type: 'access', ver: 0 });
    const signed = (
      alg: string,
      key: Parameters<SignJWT['sign']>[0],
      edit: (jwt: SignJWT) => SignJWT = (jwt) => jwt,
    ) =>
      edit(
        new SignJWT(claims())
          .setProtectedHeader({ alg, typ: 'at+jwt' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject(userId)
          .setJti(`jti-${Math.random()}`)
          .setIssuedAt()
          .setExpirationTime('10m'),
      ).sign(key);

    beforeAll(async () => {
      const user = await signedInUser(server, 'forged');
      userId = user.user.id;
      goodToken = user.access_token;
    });

    it('accepts a token crafted exactly like the server’s (so the refusals below test one thing each)', async () => {
      expect((await server.call('GET', '/api/auth/verify', goodToken)).status).toBe(200);
      const crafted = await signed('HS256', secret);
      const res = await server.call('GET', '/api/auth/verify', crafted);
      expect(res.status, res.text).toBe(200);
      expect(res.body.user.id).toBe(userId);
    });

    it('refuses alg none, another algorithm, another key, a bad signature, a wrong audience, expiry: 401 problem+json', async () => {
      const none = new UnsecuredJWT(claims())
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(userId)
        .setJti('jti-none')
        .setIssuedAt()
        .setExpirationTime('10m')
        .encode();
      // The same with the typ the server uses in its header.
      const noneTyped = [
        Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url'),
        none.split('.')[1],
        '',
      ].join('.');
      const { privateKey } = await generateKeyPair('RS256');
      const [h, p] = goodToken.split('.');
      const tampered = `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`;
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8'));
      const escalated = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'usr_someone_else' })).toString('base64url')}.${goodToken.split('.')[2]}`;
      const cases: Record<string, string> = {
        'alg none': none,
        'alg none, typ at+jwt': noneTyped,
        HS512: await signed('HS512', secret),
        'RS256 with another key': await signed('RS256', privateKey),
        'HS256 with another secret': await signed('HS256', new TextEncoder().encode('x'.repeat(40))),
        'bad signature': tampered,
        'payload changed': escalated,
        'wrong audience': await signed('HS256', secret, (jwt) => jwt.setAudience('another-api')),
        'wrong issuer': await signed('HS256', secret, (jwt) => jwt.setIssuer('someone-else')),
        expired: await signed('HS256', secret, (jwt) =>
          jwt
            .setIssuedAt(Math.floor(Date.now() / 1000) - 3_600)
            .setExpirationTime(Math.floor(Date.now() / 1000) - 60),
        ),
        'not an access token': await new SignJWT({ token_type: 'refresh', ver: 0 })
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject(userId)
          .setJti('jti-rt')
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(secret),
        'unknown user': await signed('HS256', secret, (jwt) => jwt.setSubject('usr_does_not_exist')),
      };
      for (const [name, token] of Object.entries(cases)) {
        const res = await server.call('GET', '/api/auth/verify', token);
        expect(res.status, `${name}: ${res.text}`).toBe(401);
        expect(res.headers.get('content-type'), name).toMatch(/^application\/problem\+json/);
        expect(res.text, name).not.toContain(token);
        // The same token is refused by MCP too.
        const mcp = await postMcpInitialize(`${server.url}/mcp`, { authorization: `Bearer ${token}` }, 'x');
        expect(mcp.status, `${name} on /mcp`).toBe(401);
      }
    });

    it('refuses a refresh token used as an access token (401)', async () => {
      const user = await signedInUser(server, 'rt-as-at');
      const res = await server.call('GET', '/api/auth/verify', user.refresh_token);
      expectProblem(res, 401);
      expect(res.text).not.toContain(user.refresh_token);
      // And an access token is no refresh token (too long for one: 400, or 401).
      const swapped = await server.call('POST', '/api/auth/refresh', undefined, {
        refresh_token: user.access_token,
      });
      expect([400, 401]).toContain(swapped.status);
      expect(swapped.text).not.toContain(user.access_token);
    });
  });

  describe('the console’s refresh cookie (X-Console: 1)', () => {
    const cookieOf = (headers: Headers) => {
      const line = headers.getSetCookie().find((c) => c.startsWith('amk_refresh='));
      return { line, value: line?.split(';')[0]?.slice('amk_refresh='.length) };
    };

    it('sets amk_refresh HttpOnly SameSite=Strict on the auth path and leaves it out of the body', async () => {
      const address = email('console');
      await createUser(server, { email: address });
      const res = await server.call(
        'POST',
        '/api/auth/login',
        undefined,
        { email: address, password: PASSWORD },
        { 'X-Console': '1' },
      );
      expect(res.status).toBe(200);
      expect(res.body).not.toHaveProperty('refresh_token');
      expect(res.body.access_token).toEqual(expect.any(String));
      const { line, value } = cookieOf(res.headers);
      expect(line).toBeDefined();
      expect(line).toMatch(/;\s*HttpOnly/i);
      expect(line).toMatch(/;\s*SameSite=Strict/i);
      expect(line).toMatch(/;\s*Path=\/api\/auth(;|$)/i);
      // Plain HTTP: not Secure (browsers would drop it); over https it is.
      expect(line).not.toMatch(/;\s*Secure/i);
      expect(value).toMatch(/^rt_/);

      // Without the header: no cookie, the token in the body.
      const plain = await server.call('POST', '/api/auth/login', undefined, {
        email: address,
        password: PASSWORD,
      });
      expect(cookieOf(plain.headers).line).toBeUndefined();
      expect(plain.body.refresh_token).toMatch(/^rt_/);
    });

    it('refreshes with the cookie only when X-Console: 1 is sent, rotating the cookie; logout clears it', async () => {
      const address = email('console2');
      await createUser(server, { email: address });
      const signIn = await server.call(
        'POST',
        '/api/auth/login',
        undefined,
        { email: address, password: PASSWORD },
        { 'X-Console': '1' },
      );
      const cookie = cookieOf(signIn.headers).value!;
      // A cross-site page can send the cookie but not the header: refused, and the token is not used up.
      const noHeader = await server.call(
        'POST',
        '/api/auth/refresh',
        undefined,
        {},
        { cookie: `amk_refresh=${cookie}` },
      );
      expectProblem(noHeader, 401);
      const refreshed = await server.call(
        'POST',
        '/api/auth/refresh',
        undefined,
        {},
        { cookie: `other=1; amk_refresh=${cookie}`, 'X-Console': '1' },
      );
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(refreshed.body).not.toHaveProperty('refresh_token');
      const next = cookieOf(refreshed.headers).value!;
      expect(next).toMatch(/^rt_/);
      expect(next).not.toBe(cookie);

      const out = await server.call(
        'POST',
        '/api/auth/logout',
        undefined,
        {},
        {
          cookie: `amk_refresh=${next}`,
          'X-Console': '1',
        },
      );
      expect(out.status).toBe(204);
      const cleared = cookieOf(out.headers).line;
      expect(cleared).toMatch(/amk_refresh=;|Expires=Thu, 01 Jan 1970/i);
      const afterLogout = await server.call(
        'POST',
        '/api/auth/refresh',
        undefined,
        {},
        {
          cookie: `amk_refresh=${next}`,
          'X-Console': '1',
        },
      );
      expectProblem(afterLogout, 401);
    });
  });

  it('answers at the original platform service’s paths the same way', async () => {
    const user = await signedInUser(server, 'original');
    const me = await server.call('GET', '/api/auth/me', user.access_token);
    expect(me.status).toBe(200);
    expect(me.body).toEqual((await server.call('GET', '/api/auth/profile', user.access_token)).body);
    const put = await server.call('PUT', '/api/auth/me', user.access_token, { last_name: 'Lovelace' });
    expect(put.body.last_name).toBe('Lovelace');
    expect((await server.call('GET', '/api/auth/validate', user.access_token)).body).toMatchObject({
      valid: true,
    });
    expectProblem(await server.call('GET', '/api/auth/me'), 401);
    expectProblem(await server.call('GET', '/api/auth/validate', `${user.access_token}x`), 401);
    const status = await server.call('GET', '/api/gdpr/compliance-status', user.access_token);
    expect(status.body).toHaveProperty('retention');
    const exported = await server.call('POST', '/api/gdpr/data-export', user.access_token);
    expect(exported.body.user_id).toBe(user.user.id);
    const changed = await server.call('POST', '/api/auth/change-password', user.access_token, {
      current_password: 'wrong wrong wrong',
      new_password: 'lemon harbour at dusk',
    });
    expectProblem(changed, 403);
    expectProblem(
      await server.call('POST', '/api/gdpr/data-deletion', user.access_token, { password: 'nope nope' }),
      403,
    );
    const deleted = await server.call('POST', '/api/gdpr/data-deletion', user.access_token, {
      password: PASSWORD,
    });
    expect(deleted.body.status).toBe('completed');
    expectProblem(await server.call('GET', '/api/auth/me', user.access_token), 401);
  });

  it('keeps "my" routes for users: a server key gets 403, no credential 401', async () => {
    const asServer = await server.call('GET', '/api/auth/profile', server.serverKey);
    expectProblem(asServer, 403);
    expect(asServer.body.detail).toMatch(/signed-in users/);
    expectProblem(await server.call('GET', '/api/auth/profile'), 401);
    expectProblem(await server.call('POST', '/api/auth/logout-all'), 401);
  });
});

describe('the console cookie behind a proxy and a base path', () => {
  it('is Secure over https (X-Forwarded-Proto with TRUST_PROXY) and scoped to <base>/api/auth', async () => {
    const server = await startPlatform({ BASE_PATH: '/kit', TRUST_PROXY: 'loopback' });
    try {
      const address = email('proxied');
      await createUser(server, { email: address });
      const res = await server.call(
        'POST',
        '/api/auth/login',
        undefined,
        { email: address, password: PASSWORD },
        { 'X-Console': '1', 'X-Forwarded-Proto': 'https' },
      );
      expect(res.status, res.text).toBe(200);
      const line = res.headers.getSetCookie().find((c) => c.startsWith('amk_refresh='));
      expect(line).toMatch(/;\s*Secure/i);
      expect(line).toMatch(/;\s*Path=\/kit\/api\/auth(;|$)/i);
    } finally {
      await server.close();
    }
  });
});

describe('registration', () => {
  it('closed: 403 for everyone; an admin (server key or admin user) creates accounts with POST /api/users', async () => {
    const server = await startPlatform({ REGISTRATION: 'closed' });
    try {
      const reg = await server.call('POST', '/api/auth/register', undefined, {
        email: email('closed'),
        password: PASSWORD,
      });
      expectProblem(reg, 403);
      // The console asks first, without a credential.
      const config = await server.call('GET', '/api/auth/config');
      expect(config.body).toEqual({ registration: 'closed', access_token_seconds: 900 });
      const admin = await createUser(server, { email: email('admin'), role: 'admin' });
      expect(admin).toMatchObject({ role: 'admin', allowed_bases: '*' });
      const adminTokens = await login(server, admin.email);
      const made = await server.call('POST', '/api/users', adminTokens.access_token, {
        email: email('made'),
        password: PASSWORD,
        allowed_bases: ['appSandboxDemo001'],
      });
      expect(made.status, made.text).toBe(201);
      expect(made.body).toMatchObject({ role: 'member', allowed_bases: ['appSandboxDemo001'] });
      const member = await login(server, made.body.email);
      expect((await server.call('GET', '/api/auth/verify', member.access_token)).status).toBe(200);
      // A member is no admin.
      const refused = await server.call('POST', '/api/users', member.access_token, {
        email: email('sneaky'),
        password: PASSWORD,
      });
      expectProblem(refused, 403);
      expectProblem(await server.call('GET', '/api/users', member.access_token), 403);
      const listed = await server.call('GET', '/api/users', adminTokens.access_token);
      expect(listed.body.users.map((u: Json) => u.email).sort()).toEqual(
        [admin.email, made.body.email].sort(),
      );
      expect(listed.text).not.toMatch(/argon2|password_hash/);
    } finally {
      await server.close();
    }
  });

  it('defaults to open in the loopback sandbox', async () => {
    const server = await startPlatform();
    try {
      const reg = await server.call('POST', '/api/auth/register', undefined, {
        email: email('sandbox'),
        password: PASSWORD,
      });
      expect(reg.status, reg.text).toBe(201);
      expect((await server.call('GET', '/api/auth/config')).body.registration).toBe('open');
    } finally {
      await server.close();
    }
  });

  it('defaults to closed against real Airtable', async () => {
    const server = await startPlatform({
      AIRTABLE_SANDBOX: undefined,
      AIRTABLE_TOKEN: `pat${'x'.repeat(14)}.${'0'.repeat(64)}`,
      AIRTABLE_BASE_URL: 'http://127.0.0.1:9',
    });
    try {
      const reg = await server.call('POST', '/api/auth/register', undefined, {
        email: email('real'),
        password: PASSWORD,
      });
      expectProblem(reg, 403);
    } finally {
      await server.close();
    }
  });
});

describe('a loopback server without server keys (anonymous MCP)', () => {
  it('gives anonymous callers 401 on platform routes that need a user or an admin; signed-in users still work', async () => {
    const server = await startPlatform({ API_KEY: undefined });
    try {
      for (const [method, path] of [
        ['GET', '/api/users'],
        ['POST', '/api/users'],
        ['GET', '/api/auth/profile'],
        ['GET', '/api/keys'],
        ['GET', '/api/analytics/metrics'],
        ['GET', '/api/analytics/usage'],
        ['POST', '/api/gdpr/export'],
      ] as const) {
        // A valid body, so only the missing credential can be the problem.
        const body = path === '/api/users' ? { email: email('anon-made'), password: PASSWORD } : {};
        const res = await server.call(method, path, undefined, method === 'POST' ? body : undefined);
        expect(res.status, `${method} ${path}: ${res.text}`).toBe(401);
      }
      const reg = await server.call('POST', '/api/auth/register', undefined, {
        email: email('open'),
        password: PASSWORD,
      });
      expect(reg.status, reg.text).toBe(201);
      expect((await server.call('GET', '/api/auth/profile', reg.body.access_token)).status).toBe(200);
      // A member is no admin here either.
      expectProblem(await server.call('GET', '/api/users', reg.body.access_token), 403);
      // A bad token is refused, not taken for anonymous.
      expectProblem(await server.call('GET', '/api/auth/profile', `${reg.body.access_token}x`), 401);
    } finally {
      await server.close();
    }
  });
});

describe('sign-in throttling', () => {
  it('delays an account after LOGIN_LOCKOUT_THRESHOLD failures (429 + Retry-After), capped; a success clears it', async () => {
    const server = await startPlatform({
      LOGIN_LOCKOUT_THRESHOLD: '3',
      LOGIN_LOCKOUT_MAX_SECONDS: '2',
      LOGIN_ADDRESS_LIMIT: '1000',
    });
    try {
      const address = email('lock');
      await createUser(server, { email: address });
      const attempt = (password: string) =>
        server.call('POST', '/api/auth/login', undefined, { email: address, password });
      for (let i = 0; i < 3; i++) expectProblem(await attempt('wrong password!'), 401);
      // Locked: even the right password waits.
      const locked = await attempt(PASSWORD);
      expectProblem(locked, 429);
      expect(locked.headers.get('retry-after')).toBe('1');
      expect(locked.text).not.toContain(address);
      // An unknown email is throttled the same way (the lockout reveals nothing).
      const ghost = email('ghost');
      for (let i = 0; i < 3; i++) {
        expectProblem(
          await server.call('POST', '/api/auth/login', undefined, { email: ghost, password: 'x' }),
          401,
        );
      }
      const ghostLocked = await server.call('POST', '/api/auth/login', undefined, {
        email: ghost,
        password: 'x',
      });
      expectProblem(ghostLocked, 429);
      expect(ghostLocked.headers.get('retry-after')).toBe('1');

      await sleep(1_100);
      expectProblem(await attempt('wrong password!'), 401);
      const longer = await attempt(PASSWORD);
      expectProblem(longer, 429);
      expect(longer.headers.get('retry-after')).toBe('2');
      await sleep(2_100);
      expectProblem(await attempt('wrong password!'), 401);
      // Capped at LOGIN_LOCKOUT_MAX_SECONDS however many failures.
      expect(Number((await attempt(PASSWORD)).headers.get('retry-after'))).toBeLessThanOrEqual(2);
      await sleep(2_100);
      const ok = await attempt(PASSWORD);
      expect(ok.status, ok.text).toBe(200);
      // Cleared: a wrong password is a plain 401 again, and the right one works at once.
      expectProblem(await attempt('wrong password!'), 401);
      expect((await attempt(PASSWORD)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('attempts refused while an account waits are not counted: a stranger cannot stretch the lockout', async () => {
    const server = await startPlatform({ LOGIN_LOCKOUT_THRESHOLD: '2', LOGIN_ADDRESS_LIMIT: '1000' });
    try {
      const address = email('hammer');
      await createUser(server, { email: address });
      const attempt = (password: string) =>
        server.call('POST', '/api/auth/login', undefined, { email: address, password });
      expectProblem(await attempt('wrong password!'), 401);
      expectProblem(await attempt('wrong password!'), 401);
      for (let i = 0; i < 15; i++) expectProblem(await attempt('wrong password!'), 429);
      await sleep(1_100);
      // Still the first delay (1 s), not 2^15 s: the right password works now.
      const ok = await attempt(PASSWORD);
      expect(ok.status, ok.text).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('stops an address after LOGIN_ADDRESS_LIMIT failures across accounts', async () => {
    const server = await startPlatform({ LOGIN_ADDRESS_LIMIT: '4', LOGIN_LOCKOUT_THRESHOLD: '100' });
    try {
      const address = email('spray');
      await createUser(server, { email: address });
      for (let i = 0; i < 4; i++) {
        const res = await server.call('POST', '/api/auth/login', undefined, {
          email: email('victim'),
          password: 'x',
        });
        expectProblem(res, 401);
      }
      const stopped = await server.call('POST', '/api/auth/login', undefined, {
        email: address,
        password: PASSWORD,
      });
      expectProblem(stopped, 429);
      expect(Number(stopped.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
