/** A session's QR code: the signed code and the LIFF URL residents' cameras open. */
import type { ResidentShell } from '../core/resident-shell.ts';
import type { Tenant } from '../core/tenants.ts';
import type { Session, SessionCode } from './schemas.ts';
import { type CodeKeys, makeSessionCode } from './session-code.ts';

/** The LIFF path a session code opens (the scan page reads `c`). */
export const scanPath = (code: string) => `mileage/scan?c=${encodeURIComponent(code)}`;

export class SessionCodes {
  constructor(
    readonly keys: CodeKeys,
    private readonly residents: () => ResidentShell | undefined,
  ) {}

  async forSession(tenant: Tenant, session: Session): Promise<SessionCode> {
    const code = await makeSessionCode(this.keys, {
      tenantId: tenant.id,
      sessionId: session.sessionId,
      expiresAt: Date.parse(session.validUntil),
    });
    return { code, url: this.residents()?.liffUrl(tenant, scanPath(code)) ?? null, expiresAt: session.validUntil };
  }
}
