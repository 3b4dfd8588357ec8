/**
 * surveys/: residents answer surveys inside LINE (a LIFF form, and choice questions by quick replies
 * in the chat); staff with 配信 build them, deliver the 「回答する」 message, and read the results
 * (answers over time, counts per option, free texts, cross-tabulation by registered attributes with
 * groups under 5 hidden) and export them (CSV streamed, xlsx).
 *
 *   const surveys = createSurveys({ ch, redis, tenants, endpoints, logger, box, ingestHandlers, residents, delivery });
 *   surveys.registerRoutes(app, auth);          // staff JSON API (surveys/routes.ts)
 *   surveys.registerResidentApi(residentShell); // residents' API (surveys/resident-api.ts)
 *   registerSurveysResidentPages(residentShell);
 *   registerSurveyPages(pageShell, surveys);
 */
import type { messagingApi } from '@line/bot-sdk';
import { AuditLog } from '../core/audit.ts';
import type { Authenticator } from '../core/auth.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { type SecretBox, tenantKeys } from '../core/crypto.ts';
import type { FastifyInstance } from '../core/http.ts';
import type { LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import type { TenantStore } from '../core/tenants.ts';
import { type PostbackRegistry, registerSurveysChat } from './chat.ts';
import { FirstUseSurveys } from './first-use.ts';
import { registerSurveysResidentApi } from './resident-api.ts';
import type { SurveyKeys } from './resident-key.ts';
import { type AreaNames, SurveyResultsReader } from './results.ts';
import { type DeliveryDrafts, registerSurveyRoutes } from './routes.ts';
import { type ResidentAttributes, SurveyStore } from './store.ts';

export * from './schemas.ts';
export { SURVEYS_POSTBACK_PREFIX } from './chat.ts';
export { answersCsv, answersXlsx, exportHeader } from './export.ts';
export { surveyMessage } from './message.ts';
export { residentKey } from './resident-key.ts';
export { registerSurveysResidentPages } from './resident-pages.ts';
export { registerSurveyPages } from './pages.ts';
export { ageGroup, phaseOf } from './store.ts';
export type { SurveyStore, SurveyResultsReader, FirstUseSurveys };

/** Parent id of a tenant's areas in delivery's categories (delivery/residents.ts AREA_ROOT). */
const AREA_ROOT = '@area';

export interface SurveysDeps {
  ch: ClickHouseClient;
  redis: Redis;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  logger: Logger;
  /** The suite's secret box: anonymous answers' pseudonyms use per-tenant keys derived from its key. */
  box?: SecretBox;
  /** Or the keys themselves (tests). */
  keys?: SurveyKeys;
  audit?: AuditLog;
  /** ingest.handlers: the chat's postbacks (prefix surveys:). */
  ingestHandlers?: PostbackRegistry;
  /** The residents' LIFF frame (or a getter, for one wired later): the form's LIFF URL. */
  residents?: ResidentShell | (() => ResidentShell | undefined);
  /** delivery: residents' registered attributes (copied onto answers), areas' names, delivery drafts. */
  delivery?: {
    residents: ResidentAttributes & {
      categories(tenantId: string): Promise<Array<{ id: string; parentId: string; name: string }>>;
    };
    service: DeliveryDrafts;
    /** The registration flow: the first-use survey's invitation joins the welcome on follow. */
    registration?: {
      onFollowStart(hook: (tenantId: string, userId: string) => Promise<messagingApi.Message | undefined>): void;
    };
  };
  now?: () => number;
}

export interface Surveys {
  store: SurveyStore;
  reader: SurveyResultsReader;
  areaNames: AreaNames;
  /** The tenant's first-use survey (invited to on follow). */
  firstUse: FirstUseSurveys;
  registerRoutes(app: FastifyInstance, auth: Authenticator): void;
  registerResidentApi(residents: ResidentShell): void;
  /** The LIFF URL of a survey's form, if the tenant has a LIFF app. */
  formUrl(tenantId: string, surveyId: string): Promise<string | undefined>;
}

export function createSurveys(deps: SurveysDeps): Surveys {
  const now = deps.now ?? Date.now;
  const audit = deps.audit ?? new AuditLog(deps.ch, deps.logger);
  const keys: SurveyKeys = deps.keys ?? tenantKeys(deps.box, 'surveys-resident-key', 'createSurveys');
  const residents = () => (typeof deps.residents === 'function' ? deps.residents() : deps.residents);
  const store = new SurveyStore({ ch: deps.ch, audit, keys, residents: deps.delivery?.residents, now });
  const areaNames: AreaNames = async (tenantId) => {
    const cats = (await deps.delivery?.residents.categories(tenantId)) ?? [];
    return new Map(cats.filter((c) => c.parentId === AREA_ROOT).map((c) => [c.id, c.name]));
  };
  const reader = new SurveyResultsReader(deps.ch, areaNames);
  const firstUse = new FirstUseSurveys(deps.ch, store, audit, now);
  deps.delivery?.registration?.onFollowStart((tenantId, userId) =>
    firstUse.invitation(deps.tenants, residents(), tenantId, userId),
  );
  if (deps.ingestHandlers) {
    registerSurveysChat(deps.ingestHandlers, {
      store,
      tenants: deps.tenants,
      endpoints: deps.endpoints,
      redis: deps.redis,
      logger: deps.logger,
      residents,
    });
  }
  return {
    store,
    reader,
    areaNames,
    firstUse,
    registerRoutes(app, auth) {
      registerSurveyRoutes(app, {
        auth,
        audit,
        tenants: deps.tenants,
        store,
        reader,
        areaNames,
        residents,
        deliveries: deps.delivery?.service,
        firstUse,
      });
    },
    registerResidentApi(shell) {
      registerSurveysResidentApi(shell, store);
    },
    async formUrl(tenantId, surveyId) {
      return residents()?.liffUrl(await deps.tenants.require(tenantId), `surveys/${surveyId}`);
    },
  };
}
