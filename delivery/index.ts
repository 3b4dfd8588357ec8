/**
 * delivery/: residents' attributes and follow state (the registration flow inside LINE, and each
 * tenant's default rich menu leading to it), segments, compose / validate / preview / schedule /
 * cancel / test-send, the BullMQ fan-out under LINE's per-channel limits (multicast batches, or one
 * broadcast for all friends), records and CSV export.
 *
 *   const delivery = createDelivery({ ch, redisUrl, tenants, endpoints, logger, ingestHandlers: ingest.handlers });
 *   await delivery.start();
 *   delivery.registerRoutes(app, auth);
 *   …
 *   await delivery.stop();
 */
import type { Authenticator } from '../core/auth.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { FastifyInstance } from '../core/http.ts';
import type { LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import type { TenantStore } from '../core/tenants.ts';
import { FanOut, type FanOutOptions } from './fan-out.ts';
import { type FollowStart, registerRegistrationFlow, REGISTRATION_PREFIX, type EventRegistry } from './registration.ts';
import { ResidentStore } from './residents.ts';
import { RichMenuService } from './rich-menu.ts';
import { type LineQueueOptions, registerRichMenuRoutes, RichMenuEditor } from './rich-menus/index.ts';
import { registerDeliveryRoutes } from './routes.ts';
import { DeliveryService } from './service.ts';
import { DeliveryStore, type ClickRecorder, type DeliveryRecord } from './store.ts';
import { TestDevicePairings } from './test-device-pairing.ts';
import { createMailDeliveries, type MailDeliveries, type MailOptions } from './mail/index.ts';
import { registerTestDevicePairingRoutes, registerTestDeviceResidentPages } from './test-device-routes.ts';

export { audienceSchema, compileCondition, MAX_LISTED_USERS, type Audience, type Condition } from './audience.ts';
export { batchRetryKey, aggregationUnitOf } from './ids.ts';
export { toCsv, csvCell } from './csv.ts';
export { BATCH_SIZE, CHUNK_BATCHES } from './fan-out.ts';
export { REGISTRATION_PREFIX, type FollowStart } from './registration.ts';
export { RICH_MENU_SIZE, renderRichMenuImage, richMenuObject, type AppliedRichMenu } from './rich-menu.ts';
export { registerDeliveryPages } from './pages.ts';
export { RichMenuEditor, registerRichMenuPages, type Menu as RichMenuTab } from './rich-menus/index.ts';
export { cleanBody, newMailSecret, patternProblem, renderTemplate, safeTest, LINE_TEXT_MAX } from './mail/index.ts';
export type { MailDeliveries, MailLimits, MailOptions, MailRule, MailRuleInput } from './mail/index.ts';
export { registerDeliveryRoutes, deliveriesCsv } from './routes.ts';
export type { DeliveryRecord, DeliveryStatus, ListedDelivery, SendMethod } from './store.ts';

export interface DeliveryDeps {
  ch: ClickHouseClient;
  redisUrl: string;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  logger: Logger;
  /** ingest.handlers: follow / unfollow keep residents' state; postbacks run the registration flow. */
  ingestHandlers?: EventRegistry;
  /** The suite's public URL (or a getter, for a URL known after listen): tracked links go to <publicUrl>/r/<token>. */
  publicUrl?: string | (() => string | undefined);
  /** Where residents' clicks are recorded (ingest.clicks: rate-limited, through the event log). */
  clicks?: ClickRecorder;
  /** Fan-out tuning (rate limit, concurrency, timeouts …); see FanOutOptions. */
  fanOut?: Partial<Omit<FanOutOptions, 'ch' | 'redisUrl' | 'tenants' | 'endpoints' | 'logger' | 'store'>>;
  /** Deliveries started by e-mail: the recipient domain, and the SMTP listener when it runs. */
  mail?: MailOptions;
  /** The rich menu editor's clock for scheduled switches, its LINE queue's tuning, how often it checks schedules (0: never). */
  richMenuEditor?: { clock?: () => number; queue?: LineQueueOptions; tickMs?: number };
}

export interface Delivery {
  store: DeliveryStore;
  residents: ResidentStore;
  service: DeliveryService;
  fanOut: FanOut;
  /** Each tenant's default rich menu (the way into the registration flow). */
  richMenus: RichMenuService;
  /** The rich menu editor (tabs, versions, audiences, schedules). */
  richMenuEditor: RichMenuEditor;
  /** Deliveries started by e-mail (delivery/mail/). */
  mail: MailDeliveries;
  start(): Promise<void>;
  stop(): Promise<void>;
  registerRoutes(app: FastifyInstance, auth: Authenticator): void;
  /** The registration flow: a capability adds a message before the welcome menu (surveys' first-use survey). */
  registration: { onFollowStart(hook: FollowStart): void };
  /** Test devices by QR code: the LIFF page the code opens, and its API. */
  registerResidentPages(residents: ResidentShell): void;
  /** Resolves once the delivery is done / failed (or after timeoutMs with its current record). */
  waitFinished(tenantId: string, id: string, timeoutMs?: number): Promise<DeliveryRecord>;
}

export function createDelivery(deps: DeliveryDeps): Delivery {
  const followStarts: FollowStart[] = [];
  const store = new DeliveryStore(deps.ch);
  if (deps.clicks) store.clickRecorder = deps.clicks;
  const residents = new ResidentStore(deps.ch);
  const publicUrl = () => (typeof deps.publicUrl === 'function' ? deps.publicUrl() : deps.publicUrl);
  const fanOut = new FanOut({
    ...deps.fanOut,
    publicUrl,
    ch: deps.ch,
    redisUrl: deps.redisUrl,
    tenants: deps.tenants,
    endpoints: deps.endpoints,
    logger: deps.logger,
    store,
  });
  const service = new DeliveryService({
    ch: deps.ch,
    tenants: deps.tenants,
    endpoints: deps.endpoints,
    store,
    fanOut,
    publicUrl,
  });
  const richMenus = new RichMenuService({ ch: deps.ch, tenants: deps.tenants, endpoints: deps.endpoints });
  const richMenuEditor = new RichMenuEditor({
    ch: deps.ch,
    tenants: deps.tenants,
    endpoints: deps.endpoints,
    residents,
    legacy: richMenus,
    audit: service.audit,
    logger: deps.logger,
    liffUrl: (tenant, path) => residentShell?.liffUrl(tenant, path),
    ...deps.richMenuEditor,
  });
  const pairings = new TestDevicePairings({ redis: fanOut.requestRedis, store, audit: service.audit });
  let residentShell: ResidentShell | undefined;
  const mail = createMailDeliveries({
    ch: deps.ch,
    redis: fanOut.requestRedis,
    tenants: deps.tenants,
    residents,
    service,
    audit: service.audit,
    logger: deps.logger,
    publicUrl,
    options: deps.mail ?? { domain: 'localhost' },
  });
  if (deps.ingestHandlers) {
    const h = deps.ingestHandlers;
    h.on('follow', async ({ tenantId, event }) => {
      if (event.source?.type === 'user' && event.source.userId)
        await residents.recordFollow(tenantId, event.source.userId, true, event.timestamp);
    });
    h.on('unfollow', async ({ tenantId, event }) => {
      if (event.source?.type === 'user' && event.source.userId)
        await residents.recordFollow(tenantId, event.source.userId, false, event.timestamp);
    });
    registerRegistrationFlow(h, {
      followStarts: () => followStarts,
      residents,
      tenants: deps.tenants,
      endpoints: deps.endpoints,
      redis: fanOut.redis,
      logger: deps.logger,
    });
  }
  return {
    registration: { onFollowStart: (hook) => void followStarts.push(hook) },
    store,
    residents,
    service,
    fanOut,
    richMenus,
    richMenuEditor,
    mail,
    async start() {
      await fanOut.start();
      richMenuEditor.start();
      await mail.start();
    },
    async stop() {
      await richMenuEditor.stop();
      await mail.stop();
      await fanOut.stop();
      await residents.close();
      await store.batchWriter.close();
      await store.clickWriter.close();
    },
    registerRoutes(app, auth) {
      registerDeliveryRoutes(app, { auth, service, store, residents, tenants: deps.tenants, richMenus });
      registerRichMenuRoutes(app, { auth, editor: richMenuEditor });
      registerTestDevicePairingRoutes(app, {
        auth,
        pairings,
        tenants: deps.tenants,
        residentShell: () => residentShell,
      });
      mail.registerRoutes(app, auth);
    },
    registerResidentPages(shell) {
      residentShell = shell;
      registerTestDeviceResidentPages(shell, { pairings, residents });
    },
    async waitFinished(tenantId, id, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let stored = 0;
      for (;;) {
        // While the fan-out sends, its progress in Redis tells when it is over (the final record
        // is stored before that state is set); the record itself (a ClickHouse read, which takes
        // CPU the fan-out needs) is read then, or once a second.
        const state = (await fanOut.state.progress(id).catch(() => undefined))?.state;
        if (state !== 'sending' || Date.now() - stored >= 1000 || Date.now() > deadline) {
          stored = Date.now();
          const d = await store.require(tenantId, id);
          if (['done', 'failed', 'cancelled'].includes(d.status) || Date.now() > deadline) return d;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

export { REGISTRATION_PREFIX as DELIVERY_POSTBACK_PREFIX };
