/**
 * The code in a session's QR: a compact JWT (HS256, made and checked by jose) carrying the tenant
 * (`t`), the session (`s`, its UUID as 22 base64url characters) and the expiry (`exp`), signed with a
 * per-tenant key derived from the suite's key (HKDF), so codes survive restarts and one
 * municipality's key cannot make or pass another's codes. About 130 characters: a readable QR.
 */
import { decodeJwt, errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../core/errors.ts';

/** Gives each tenant's signing key (stable across restarts). */
export type CodeKeys = (tenantId: string) => Uint8Array;

export interface SessionClaims {
  tenantId: string;
  sessionId: string;
  expiresAt: number;
}

const uuidToShort = (uuid: string) => Buffer.from(uuid.replaceAll('-', ''), 'hex').toString('base64url');
const shortToUuid = (s: string) => {
  const hex = Buffer.from(s, 'base64url').toString('hex');
  if (hex.length !== 32) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

export async function makeSessionCode(keys: CodeKeys, c: SessionClaims): Promise<string> {
  return new SignJWT({ t: c.tenantId, s: uuidToShort(c.sessionId) })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.ceil(c.expiresAt / 1000))
    .sign(keys(c.tenantId));
}

export const codeErrors = {
  foreign: () =>
    new AppError(
      'code_foreign',
      'この QR コードは別の市町のマイレージ事業のものです。お住まいの市町の QR コードを読み取ってください',
      400,
    ),
  expired: () =>
    new AppError('session_expired', 'この QR コードの受付期間は終了しました。ポイントは付与されません', 400),
  invalid: () => new AppError('code_invalid', 'QR コードを読み取れませんでした。もう一度読み取ってください', 400),
};

/** The session a code names, for the tenant whose LIFF page received it; refused in Japanese otherwise. */
export async function checkSessionCode(
  keys: CodeKeys,
  tenantId: string,
  code: string,
  now = Date.now(),
): Promise<SessionClaims> {
  let claimedTenant: unknown;
  try {
    claimedTenant = decodeJwt(code).t;
  } catch {
    throw codeErrors.invalid();
  }
  if (typeof claimedTenant === 'string' && claimedTenant !== tenantId) throw codeErrors.foreign();
  try {
    const { payload } = await jwtVerify(code, keys(tenantId), {
      algorithms: ['HS256'],
      currentDate: new Date(now),
      requiredClaims: ['exp'],
    });
    const sessionId = typeof payload.s === 'string' ? shortToUuid(payload.s) : undefined;
    if (payload.t !== tenantId || !sessionId) throw codeErrors.invalid();
    return { tenantId, sessionId, expiresAt: (payload.exp ?? 0) * 1000 };
  } catch (e) {
    if (e instanceof AppError) throw e;
    if (e instanceof errors.JWTExpired) throw codeErrors.expired();
    throw codeErrors.invalid();
  }
}
