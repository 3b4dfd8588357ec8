/**
 * faq/: the scenario-type FAQ chatbot. Staff with 配信 keep each tenant's scenario tree (categories →
 * questions → answers with images, links, follow-ups and go-tos) in the dashboard's tree editor or
 * from an xlsx sheet, publish it as a numbered version (rollback to any earlier one) and read its
 * statistics and flow view; residents walk it in the chat (postbacks `faq:`, quick replies, Flex),
 * type questions where the tenant accepts them (matched; else the tenant's AI endpoint; else a polite
 * fallback), answer 「解決しましたか？」, and search and read it on the LIFF page `faq`.
 *
 *   const faq = createFaq({ ch, redis, tenants, endpoints, logger, ingestHandlers });
 *   faq.registerRoutes(app, auth);               // staff JSON API (faq/routes.ts)
 *   faq.registerResidentPages(residentShell);    // /liff/<tenant>/faq and its feedback API
 *   registerFaqPages(pageShell, faq);            // /faq, /faq/:tenantId, /faq/:tenantId/stats
 */
import { AuditLog } from '../core/audit.ts';
import type { Authenticator } from '../core/auth.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { FastifyInstance } from '../core/http.ts';
import type { LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import type { TenantStore } from '../core/tenants.ts';
import { type FaqEventRegistry, registerFaqChat } from './chat.ts';
import { createAiGuard, type Resolve } from './ai-guard.ts';
import { registerFaqResidentPages } from './resident-pages.ts';
import { registerFaqRoutes } from './routes.ts';
import { FaqStatsReader } from './stats.ts';
import { FaqStore } from './store.ts';

export * from './schemas.ts';
export { FAQ_POSTBACK_PREFIX, answerMessage } from './chat.ts';
export { bestMatch, candidates, normalise } from './match.ts';
export { flowSvg, layoutFlow } from './flow.ts';
export { importXlsx, scenarioXlsx, templateXlsx, HEADERS as FAQ_XLSX_HEADERS } from './xlsx.ts';
export { registerFaqPages } from './pages.ts';
export { createAiGuard, internalAddress } from './ai-guard.ts';
export { parseScenario } from './store.ts';
export type { FaqStore };
export { FaqStatsReader };
export type { FaqEvent, FaqEventKind } from './store.ts';

export interface FaqDeps {
  ch: ClickHouseClient;
  redis: Redis;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  logger: Logger;
  audit?: AuditLog;
  /** ingest.handlers: the chat's postbacks (faq:) and typed messages. */
  ingestHandlers?: FaqEventRegistry;
  now?: () => number;
  /**
   * Hosts the AI endpoint may reach although internal or without https (the operator's
   * TAYORI_FAQ_AI_ALLOW, config.faqAiAllow); default: none.
   */
  aiAllow?: readonly string[];
  /** Host name resolution for the AI endpoint's checks (tests stand in for DNS). */
  aiResolve?: Resolve;
}

export interface Faq {
  store: FaqStore;
  stats: FaqStatsReader;
  registerRoutes(app: FastifyInstance, auth: Authenticator): void;
  registerResidentPages(residents: ResidentShell): void;
}

export function createFaq(deps: FaqDeps): Faq {
  const now = deps.now ?? Date.now;
  const audit = deps.audit ?? new AuditLog(deps.ch, deps.logger);
  const aiGuard = createAiGuard({
    allow: deps.aiAllow ?? [],
    resolve: deps.aiResolve,
  });
  const store = new FaqStore(deps.ch, audit, now, aiGuard);
  const stats = new FaqStatsReader(deps.ch, deps.tenants);
  if (deps.ingestHandlers)
    registerFaqChat(deps.ingestHandlers, {
      store,
      tenants: deps.tenants,
      endpoints: deps.endpoints,
      redis: deps.redis,
      logger: deps.logger,
      aiGuard,
    });
  return {
    store,
    stats,
    registerRoutes(app, auth) {
      registerFaqRoutes(app, { auth, audit, store, stats, now });
    },
    registerResidentPages(residents) {
      registerFaqResidentPages(residents, store);
    },
  };
}
