/**
 * delivery/mail/: deliveries started by an e-mail. An inbound SMTP listener (off by default), each
 * tenant's recipient address with a secret part and allowed senders, rules (match → template →
 * audience), drafts or urgent sends through delivery's service, the received-mail log, and the
 * full-text page of long notices. Reached through delivery/index.ts.
 */
import type { AuditLog } from '../../core/audit.ts';
import type { Authenticator } from '../../core/auth.ts';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import type { FastifyInstance } from '../../core/http.ts';
import type { Logger } from '../../core/logger.ts';
import type { Redis } from '../../core/redis.ts';
import type { TenantStore } from '../../core/tenants.ts';
import type { ResidentStore } from '../residents.ts';
import type { DeliveryService } from '../service.ts';
import { MailIntake } from './intake.ts';
import type { MailLimits } from './limits.ts';
import { MailListener } from './listener.ts';
import { registerMailRoutes } from './routes.ts';
import { MailStore } from './store.ts';

export { registerMailPages } from './pages.ts';
export { cleanBody, renderTemplate, LINE_TEXT_MAX } from './clean.ts';
export { patternProblem, safeTest } from './safe-pattern.ts';
export { newSecret as newMailSecret } from './store.ts';
export type { MailRule, MailRuleInput } from './rules.ts';
export type { MailLimits } from './limits.ts';

export interface MailOptions {
  /** Listen for SMTP (TAYORI_MAIL_INBOUND=on); otherwise rules can be edited but no mail arrives. */
  listen?: { host: string; port: number };
  /** The domain of the recipient addresses (<tenant>-<secret>@<domain>). */
  domain: string;
  limits?: Partial<MailLimits>;
  /** The clock of the hourly limits (tests move it); Date.now by default. */
  clock?: () => number;
}

export interface MailDeliveries {
  store: MailStore;
  intake: MailIntake;
  /** The recipient address of a tenant with this secret part. */
  address(tenantId: string, secret: string): string;
  /** The port the listener took (0 when it does not run). */
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  registerRoutes(app: FastifyInstance, auth: Authenticator): void;
}

export function createMailDeliveries(d: {
  ch: ClickHouseClient;
  /** Delivery's fail-fast request connection (a mail is answered 451 at once while Redis is down). */
  redis: Redis;
  tenants: TenantStore;
  residents: ResidentStore;
  service: DeliveryService;
  audit: AuditLog;
  logger: Logger;
  publicUrl: () => string | undefined;
  options: MailOptions;
}): MailDeliveries {
  const store = new MailStore(d.ch);
  const intake = new MailIntake({
    ...d,
    store,
    domain: d.options.domain,
    limits: d.options.limits,
    clock: d.options.clock,
  });
  let listener: MailListener | undefined;
  const address = (tenantId: string, secret: string) => `${tenantId}-${secret}@${d.options.domain}`;
  return {
    store,
    intake,
    address,
    get port() {
      return listener?.port ?? 0;
    },
    async start() {
      const listen = d.options.listen;
      if (!listen || listener) return;
      const l = new MailListener({
        intake,
        logger: d.logger,
        host: listen.host,
        port: listen.port,
        name: d.options.domain,
      });
      await l.listen();
      listener = l;
      d.logger.info({ port: l.port, host: listen.host }, 'mail listener started');
    },
    async stop() {
      await listener?.close();
      listener = undefined;
    },
    registerRoutes(app, auth) {
      registerMailRoutes(app, {
        auth,
        store,
        tenants: d.tenants,
        audit: d.audit,
        address,
        listening: () => listener !== undefined,
      });
    },
  };
}
