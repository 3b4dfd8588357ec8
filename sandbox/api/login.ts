/**
 * LINE Login and LIFF as the sandbox stands in for them, for the LINE Login channels configured on
 * the sandbox's channels (`channels[].login`: a Login channel under the same provider, so its user
 * IDs are the Messaging API channel's residents'):
 *
 *   GET    /oauth2/v2.1/certs        the public keys ID tokens are signed with (JWKS, ES256, `kid`)
 *   POST   /oauth2/v2.1/verify       form: id_token, client_id[, nonce, user_id] → the payload, or 400
 *                                    {"error": "invalid_request", "error_description": "IdToken expired."}
 *   POST   /oauth2/v3/token          form: grant_type=client_credentials, client_id, client_secret →
 *                                    a stateless channel access token (15 minutes)
 *   POST   /liff/v1/apps             GET /liff/v1/apps        PUT|DELETE /liff/v1/apps/{liffId}
 *                                    LIFF server API (liff.yml), with a Login channel's access token
 *
 * The key pair is made when the sandbox starts; ID tokens are issued by a test hook
 * (test-hooks.ts: /__sandbox/login-channels/…) standing in for a resident who opens a LIFF app.
 * Times in tokens are real time (the clock of the server), not the world's simulated time: the
 * verifier on the other side checks them against its own clock.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { validateRequest } from '../openapi.ts';
import type { ChannelWorld, World } from '../world.ts';
import { invalidAccessToken, invalidRequestBody, LineApiError, missingAuthorization, notFound } from './errors.ts';

export const ID_TOKEN_ISSUER = 'https://access.line.me';
/** A stateless channel access token lives 15 minutes (LINE answers expires_in 900). */
const STATELESS_TOKEN_SECONDS = 900;
/** LINE allows up to 30 LIFF apps per channel. */
const MAX_LIFF_APPS = 30;

export interface LoginChannel {
  channelId: string;
  channelSecret: string;
  /** The Messaging API channel under the same provider: whose residents sign in. */
  channel: ChannelWorld;
}

export interface LiffApp {
  liffId: string;
  view: { type: string; url: string; moduleMode?: boolean };
  description?: string;
  features?: { ble?: boolean; qrCode?: boolean };
  permanentLinkPattern?: string;
  scope?: string[];
  botPrompt?: string;
}

export interface IdTokenRequest {
  loginChannelId: string;
  userId: string;
  /** Seconds until expiry (default 3600); 0 or less: already expired. */
  expiresIn?: number;
  nonce?: string;
}

export interface LoginAnswer {
  status: number;
  body: unknown;
  /** The LIFF operation answered (for the spec checks of recorded responses). */
  operationId?: string;
}

type Keys = { privateKey: CryptoKey; jwk: JWK; kid: string };

export class LoginPlatform {
  readonly #keys: Promise<Keys>;
  readonly #channels = new Map<string, LoginChannel>();
  /** access token → Login channel id and expiry (epoch ms). */
  readonly #tokens = new Map<string, { channelId: string; expiresAt: number }>();
  /** liffId → Login channel id and the app. */
  readonly #apps = new Map<string, { channelId: string; app: LiffApp }>();

  constructor(
    world: World,
    private readonly clock: () => number = Date.now,
  ) {
    for (const channel of world.channels()) {
      const login = channel.config.login;
      if (login) this.#channels.set(login.channelId, { ...login, channel });
    }
    this.#keys = (async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const kid = randomUUID();
      const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
      return { privateKey, jwk, kid };
    })();
    this.#keys.catch(() => {});
  }

  loginChannel(id: string): LoginChannel | undefined {
    return this.#channels.get(id);
  }

  loginChannels(): LoginChannel[] {
    return [...this.#channels.values()];
  }

  /** The LIFF server API operation of a request (undefined for the OAuth endpoints and unknown ones). */
  static operationOf(method: string, pathname: string): string | undefined {
    if (pathname === '/liff/v1/apps')
      return ({ POST: 'addLIFFApp', GET: 'getAllLIFFApps' } as Record<string, string>)[method];
    if (/^\/liff\/v1\/apps\/[^/]+$/.test(pathname)) {
      return ({ PUT: 'updateLIFFApp', DELETE: 'deleteLIFFApp' } as Record<string, string>)[method];
    }
    return undefined;
  }

  /** True when the path is one this module answers. */
  static handles(pathname: string): boolean {
    return (
      pathname === '/oauth2/v2.1/certs' ||
      pathname === '/oauth2/v2.1/verify' ||
      pathname === '/oauth2/v3/token' ||
      pathname === '/liff/v1/apps' ||
      pathname.startsWith('/liff/v1/apps/')
    );
  }

  /** A signed ID token as LINE issues it to a LIFF app (the test hook's work). */
  async issueIdToken(r: IdTokenRequest): Promise<{ idToken: string; expiresAt: string }> {
    const login = this.#channels.get(r.loginChannelId);
    if (!login) throw notFound();
    const { channel } = login;
    const known = channel.residentIndex ? channel.residentIndex(r.userId) >= 0 : channel.isFriend(r.userId);
    if (!known) throw new LineApiError(404, { message: 'Not found' });
    const profile = channel.profile(r.userId);
    const { privateKey, kid } = await this.#keys;
    const now = Math.floor(this.clock() / 1000);
    const expiresIn = r.expiresIn ?? 3600;
    // an already expired token: issued an hour before it expired
    const iat = Math.min(now, now + expiresIn - 3600);
    const exp = now + expiresIn;
    const claims: Record<string, unknown> = { amr: ['linesso'] };
    if (r.nonce) claims.nonce = r.nonce;
    if (profile) {
      claims.name = profile.displayName;
      if (profile.pictureUrl) claims.picture = profile.pictureUrl;
    }
    const idToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
      .setIssuer(ID_TOKEN_ISSUER)
      .setSubject(r.userId)
      .setAudience(r.loginChannelId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(privateKey);
    return { idToken, expiresAt: new Date(exp * 1000).toISOString() };
  }

  async handle(
    method: string,
    pathname: string,
    headers: { authorization?: string; contentType?: string },
    raw: Buffer,
  ): Promise<LoginAnswer> {
    if (pathname === '/oauth2/v2.1/certs') {
      if (method !== 'GET') throw notFound();
      const { jwk } = await this.#keys;
      return { status: 200, body: { keys: [jwk] } };
    }
    if (pathname === '/oauth2/v2.1/verify') {
      if (method !== 'POST') throw notFound();
      return this.#verify(form(raw));
    }
    if (pathname === '/oauth2/v3/token') {
      if (method !== 'POST') throw notFound();
      return this.#issueToken(form(raw));
    }
    return this.#liff(method, pathname, headers, raw);
  }

  async #verify(f: URLSearchParams): Promise<LoginAnswer> {
    const idToken = f.get('id_token');
    const clientId = f.get('client_id');
    if (!idToken) return oauthError('invalid_request', 'id_token is required.');
    if (!clientId) return oauthError('invalid_request', 'client_id is required.');
    const { jwk } = await this.#keys;
    let payload: Record<string, unknown>;
    try {
      const verified = await jwtVerify(idToken, async () => jwk, {
        algorithms: ['ES256'],
        // expiry and issuer are checked below, to answer with LINE's own descriptions
        currentDate: new Date(0),
      });
      payload = verified.payload as Record<string, unknown>;
    } catch {
      return oauthError('invalid_request', 'Invalid IdToken.');
    }
    if (payload.iss !== ID_TOKEN_ISSUER) return oauthError('invalid_request', 'Invalid IdToken Issuer.');
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= this.clock()) {
      return oauthError('invalid_request', 'IdToken expired.');
    }
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!aud.includes(clientId)) return oauthError('invalid_request', 'Invalid IdToken Audience.');
    const nonce = f.get('nonce');
    if (nonce !== null && payload.nonce !== nonce) return oauthError('invalid_request', 'Invalid IdToken Nonce.');
    const userId = f.get('user_id');
    if (userId !== null && payload.sub !== userId) {
      return oauthError('invalid_request', 'Invalid IdToken Subject Identifier.');
    }
    return { status: 200, body: payload };
  }

  #issueToken(f: URLSearchParams): LoginAnswer {
    if (f.get('grant_type') !== 'client_credentials') {
      return oauthError('unsupported_grant_type', 'Unsupported grant type.');
    }
    const clientId = f.get('client_id');
    const secret = f.get('client_secret');
    if (!clientId || !secret) return oauthError('invalid_request', 'client_id and client_secret are required.');
    const login = this.#channels.get(clientId);
    if (!login || login.channelSecret !== secret) return oauthError('invalid_client', 'Invalid client.');
    const token = randomBytes(48).toString('base64url');
    const now = this.clock();
    for (const [t, v] of this.#tokens) if (v.expiresAt <= now) this.#tokens.delete(t);
    this.#tokens.set(token, { channelId: clientId, expiresAt: now + STATELESS_TOKEN_SECONDS * 1000 });
    return {
      status: 200,
      body: { token_type: 'Bearer', access_token: token, expires_in: STATELESS_TOKEN_SECONDS - 1 },
    };
  }

  #liff(
    method: string,
    pathname: string,
    headers: { authorization?: string; contentType?: string },
    raw: Buffer,
  ): LoginAnswer {
    const rest = pathname.slice('/liff/v1/apps'.length);
    let liffId: string | undefined;
    if (rest) {
      if (!/^\/[^/]+$/.test(rest)) throw notFound();
      try {
        liffId = decodeURIComponent(rest.slice(1));
      } catch {
        throw notFound();
      }
    }
    const operationId = LoginPlatform.operationOf(method, pathname);
    if (!operationId) throw notFound();
    const channelId = this.#authenticate(headers.authorization);
    const body =
      operationId === 'addLIFFApp' || operationId === 'updateLIFFApp' ? jsonBody(operationId, headers, raw) : undefined;
    const own = (id: string) => {
      const hit = this.#apps.get(id);
      // another channel's app is not found either (LINE: "added to another channel" → 404)
      if (!hit || hit.channelId !== channelId) throw notFound();
      return hit;
    };
    switch (operationId) {
      case 'addLIFFApp': {
        const b = body as Omit<LiffApp, 'liffId'>;
        checkEndpointUrl(b.view.url);
        const count = [...this.#apps.values()].filter((a) => a.channelId === channelId).length;
        if (count >= MAX_LIFF_APPS) {
          throw new LineApiError(400, {
            message: 'The maximum number of LIFF apps that can be added to the channel has been reached',
          });
        }
        let id: string;
        do id = `${channelId}-${randomAlnum(8)}`;
        while (this.#apps.has(id));
        this.#apps.set(id, {
          channelId,
          app: {
            liffId: id,
            ...b,
            scope: b.scope ?? ['profile', 'chat_message.write'],
            botPrompt: b.botPrompt ?? 'none',
          },
        });
        return { status: 200, body: { liffId: id }, operationId };
      }
      case 'getAllLIFFApps': {
        const apps = [...this.#apps.values()].filter((a) => a.channelId === channelId).map((a) => a.app);
        if (apps.length === 0) throw notFound();
        return { status: 200, body: { apps }, operationId };
      }
      case 'updateLIFFApp': {
        const hit = own(liffId!);
        const b = body as Partial<Omit<LiffApp, 'liffId'>>;
        if (b.view?.url !== undefined) checkEndpointUrl(b.view.url);
        hit.app = {
          ...hit.app,
          ...b,
          liffId: hit.app.liffId,
          view: { ...hit.app.view, ...(b.view ?? {}) },
        };
        return { status: 200, body: {}, operationId };
      }
      default: {
        own(liffId!);
        this.#apps.delete(liffId!);
        return { status: 200, body: {}, operationId };
      }
    }
  }

  #authenticate(header: string | undefined): string {
    if (!header) throw missingAuthorization();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw missingAuthorization();
    const t = this.#tokens.get(m[1]!);
    if (!t || t.expiresAt <= this.clock()) throw invalidAccessToken();
    return t.channelId;
  }
}

function form(raw: Buffer): URLSearchParams {
  return new URLSearchParams(raw.toString('utf8'));
}

function oauthError(error: string, description: string): LoginAnswer {
  return { status: 400, body: { error, error_description: description } };
}

function jsonBody(operationId: string, headers: { contentType?: string }, raw: Buffer): unknown {
  const type = headers.contentType ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new LineApiError(415, { message: `The content type, ${type || '(none)'}, is not supported` });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new LineApiError(400, { message: 'The request body could not be parsed as JSON' });
  }
  const details = validateRequest(operationId, body);
  if (details.length) throw invalidRequestBody(details);
  return body;
}

/**
 * LINE requires an https endpoint without a fragment. The sandbox also takes http on this machine
 * (localhost, 127.0.0.1, ::1), where the demo and the tests serve the pages.
 */
function checkEndpointUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidRequestBody([{ message: 'must be a valid uri', property: 'view.url' }]);
  }
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(local && u.protocol === 'http:')) {
    throw invalidRequestBody([{ message: 'The URL scheme must be https', property: 'view.url' }]);
  }
  if (u.hash || url.includes('#')) {
    throw invalidRequestBody([{ message: "URL fragments can't be specified", property: 'view.url' }]);
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlnum(n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}
