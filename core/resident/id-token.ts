/**
 * LIFF ID tokens checked on the server with jose: the signature by the keys LINE publishes
 * (`<LINE base URL>/oauth2/v2.1/certs`, fetched once per base URL and cached by jose's remote key
 * set, refetched only for an unknown `kid`), the issuer `https://access.line.me`, the audience (the
 * tenant's LINE Login channel), ES256 only, and the expiry.
 *
 * Verified tokens are remembered until they expire (a bounded cache keyed by the SHA-256 of the
 * token, its audience and LINE's URL): a resident's page calls several APIs with one token, and a
 * surge at a till (the benefit card) would otherwise verify the same signature again and again.
 */
import * as nodeCrypto from 'node:crypto';

/** The cache key of a token: one-shot crypto.hash where Node has it (20.12+), a Hash object before. */
const sha256: (text: string) => string =
  typeof nodeCrypto.hash === 'function'
    ? (text) => nodeCrypto.hash('sha256', text, 'base64')
    : (text) => nodeCrypto.createHash('sha256').update(text).digest('base64');
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { AppError } from '../errors.ts';

export const LINE_ID_TOKEN_ISSUER = 'https://access.line.me';
/** LINE's ID tokens are well under this; anything longer is not one. */
const MAX_TOKEN_LENGTH = 4096;

export interface VerifiedResident {
  userId: string;
  displayName?: string;
}

/** The Japanese answer a resident gets when their token does not do. */
export const idTokenErrors = {
  missing: () => new AppError('id_token_missing', 'LINE の認証情報がありません。LINE からもう一度開いてください', 401),
  invalid: () =>
    new AppError('id_token_invalid', 'LINE の認証情報を確認できませんでした。LINE からもう一度開いてください', 401),
  expired: () =>
    new AppError('id_token_expired', 'LINE の認証の有効期限が切れました。LINE からもう一度開いてください', 401),
  keysUnavailable: () =>
    new AppError(
      'id_token_keys_unavailable',
      'LINE の認証情報を確認できません (LINE に接続できません)。しばらくしてからもう一度お試しください',
      503,
    ),
};

export interface IdTokenVerifierOptions {
  /** Verified tokens remembered at most (oldest dropped first); 0 turns the cache off. */
  cacheSize?: number;
  /** The clock expiry is judged by (tests move it). */
  now?: () => number;
}

export class IdTokenVerifier {
  readonly #keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  readonly #verified = new Map<string, { resident: VerifiedResident; expMs: number }>();
  /** Verifications under way: the same token arriving again at once (a double tap, a page's parallel calls) waits for the first. */
  readonly #pending = new Map<string, Promise<VerifiedResident>>();
  readonly #cacheSize: number;
  readonly #now: () => number;

  constructor(opts: IdTokenVerifierOptions = {}) {
    this.#cacheSize = opts.cacheSize ?? 100_000;
    this.#now = opts.now ?? Date.now;
  }

  /** How many signatures were checked (not answered from the cache or a verification under way). */
  checks = 0;

  /** How many verified tokens are remembered now. */
  get cached(): number {
    return this.#verified.size;
  }

  /** The resident a token names, or an AppError (401 id_token_*, 503 when LINE's keys cannot be fetched). */
  async verify(token: string, opts: { lineBaseUrl: string; audience: string }): Promise<VerifiedResident> {
    if (!token) throw idTokenErrors.missing();
    if (token.length > MAX_TOKEN_LENGTH) throw idTokenErrors.invalid();
    const cacheKey = this.#cacheSize ? sha256(`${opts.lineBaseUrl}\0${opts.audience}\0${token}`) : '';
    const hit = cacheKey ? this.#verified.get(cacheKey) : undefined;
    if (hit) {
      if (hit.expMs > this.#now()) return hit.resident;
      this.#verified.delete(cacheKey);
    }
    if (!cacheKey) return this.#check(token, opts, cacheKey);
    const pending = this.#pending.get(cacheKey);
    if (pending) return pending;
    const p = this.#check(token, opts, cacheKey).finally(() => this.#pending.delete(cacheKey));
    this.#pending.set(cacheKey, p);
    return p;
  }

  /** The signature and claims checked with jose; a good token remembered under `cacheKey` ('' for none). */
  async #check(
    token: string,
    opts: { lineBaseUrl: string; audience: string },
    cacheKey: string,
  ): Promise<VerifiedResident> {
    this.checks++;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#keySet(opts.lineBaseUrl), {
        issuer: LINE_ID_TOKEN_ISSUER,
        audience: opts.audience,
        algorithms: ['ES256'],
        requiredClaims: ['sub', 'exp', 'iat'],
        currentDate: new Date(this.#now()),
      }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw idTokenErrors.expired();
      if (
        e instanceof errors.JWKSTimeout ||
        e instanceof TypeError || // fetch failed: LINE (or the sandbox) not reachable
        (e instanceof errors.JOSEError && e.code === 'ERR_JOSE_GENERIC')
      ) {
        throw idTokenErrors.keysUnavailable();
      }
      throw idTokenErrors.invalid();
    }
    const userId = payload.sub;
    if (typeof userId !== 'string' || !/^U[0-9a-f]{32}$/.test(userId)) throw idTokenErrors.invalid();
    const name = typeof payload.name === 'string' && payload.name ? payload.name : undefined;
    const resident: VerifiedResident = name ? { userId, displayName: name } : { userId };
    if (cacheKey && typeof payload.exp === 'number') {
      if (this.#verified.size >= this.#cacheSize) {
        // drop the oldest tenth at once (Map keeps insertion order), so a full cache costs little per entry
        let n = Math.max(1, Math.floor(this.#cacheSize / 10));
        for (const k of this.#verified.keys()) {
          this.#verified.delete(k);
          if (--n === 0) break;
        }
      }
      this.#verified.set(cacheKey, { resident, expMs: payload.exp * 1000 });
    }
    return resident;
  }

  #keySet(baseUrl: string): ReturnType<typeof createRemoteJWKSet> {
    let set = this.#keySets.get(baseUrl);
    if (!set) {
      set = createRemoteJWKSet(new URL(`${baseUrl.replace(/\/+$/, '')}/oauth2/v2.1/certs`), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
        cacheMaxAge: 24 * 3600_000,
      });
      this.#keySets.set(baseUrl, set);
    }
    return set;
  }
}
