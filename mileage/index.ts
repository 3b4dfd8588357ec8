/**
 * mileage/: health-mileage programmes per municipality and fiscal year, their activities and event
 * sessions (signed QR codes), member numbers, the append-only points ledger with exactly-once
 * awards (scans, self-reports, staff grants and imports, corrections), balances from the rollup, and
 * the benefit card (とこわか健康応援カード) with its one design.
 *
 *   const mileage = createMileage({ ch, redis, ingest, tenants, endpoints, logger, box, ingestHandlers, residents });
 *   await mileage.start();
 *   mileage.registerRoutes(app, auth);            // staff JSON API (mileage/routes.ts)
 *   mileage.registerResidentApi(residentShell);   // residents' API in LIFF (mileage/resident-api.ts)
 *   …
 *   await mileage.stop();
 */
import type { Authenticator } from '../core/auth.ts';
import { AuditLog } from '../core/audit.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { type SecretBox, tenantKeys } from '../core/crypto.ts';
import type { FastifyInstance } from '../core/http.ts';
import type { LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import type { TenantStore } from '../core/tenants.ts';
import type { Ingest } from '../ingest/index.ts';
import { Awards, LEDGER_COLUMNS } from './awards.ts';
import { CARD_COLUMNS, CardService } from './cards.ts';
import { Catalogue } from './catalogue.ts';
import { registerMileageChat, type PostbackRegistry } from './chat.ts';
import { cardImagePath } from './printable-routes.ts';
import { Grants } from './grants.ts';
import { AwardGuards } from './guards.ts';
import { LedgerReads } from './ledger.ts';
import { MEMBER_COLUMNS, Members } from './members.ts';
import { registerMileageResidentApi } from './resident-api.ts';
import { ResidentMileage } from './resident.ts';
import { registerMileageRoutes } from './routes.ts';
import type { CodeKeys } from './session-code.ts';
import { SessionCodes } from './session-codes.ts';

export * from './schemas.ts';
export { cardValidUntil } from './cards.ts';
export { MILEAGE_POSTBACK_PREFIX } from './chat.ts';
export { checkSessionCode, makeSessionCode } from './session-code.ts';
export { scanPath } from './session-codes.ts';
export { participantsCsv } from './routes.ts';
export { registerMileagePages } from './pages.ts';
export { registerMileagePrintableRoutes } from './printable-routes.ts';
export { registerMileageResidentPages } from './resident-pages.ts';
export type {
  Awards,
  Catalogue,
  CardService,
  Grants,
  LedgerReads,
  Members,
  ResidentMileage,
  SessionCodes,
  AwardGuards,
};

export interface MileageDeps {
  ch: ClickHouseClient;
  /** The suite's Redis connection (award guards, balances, member serials, import previews). */
  redis: Redis;
  /**
   * The event log: ledger, member and card rows are acknowledged once durable there and shipped to
   * ClickHouse in batches; the guards' rebuild first waits for the log to be shipped.
   */
  ingest: Pick<Ingest, 'tables' | 'shipper'>;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  logger: Logger;
  /** The suite's secret box: session codes are signed with per-tenant keys derived from its key. */
  box?: SecretBox;
  /** Or the signing keys themselves (tests, benches). */
  codeKeys?: CodeKeys;
  audit?: AuditLog;
  /** ingest.handlers: the rich menu's 「マイレージ」 and 「記録する」 postbacks (prefix mileage:). */
  ingestHandlers?: PostbackRegistry;
  /** The residents' LIFF frame (or a getter, for one wired later). */
  residents?: ResidentShell | (() => ResidentShell | undefined);
  /** The suite's public URL (or a getter): an https one puts the card's image in the card message. */
  publicUrl?: string | (() => string | undefined);
  /** The clock awards, cards and sessions are judged by (tests move it). */
  now?: () => number;
}

export interface Mileage {
  catalogue: Catalogue;
  guards: AwardGuards;
  members: Members;
  awards: Awards;
  ledger: LedgerReads;
  cards: CardService;
  grants: Grants;
  resident: ResidentMileage;
  codes: SessionCodes;
  /** Start-up repair: the award guards are dropped, to be rebuilt from ClickHouse on first use. */
  start(): Promise<void>;
  stop(): Promise<void>;
  registerRoutes(app: FastifyInstance, auth: Authenticator): void;
  registerResidentApi(residents: ResidentShell): void;
  /** After rows were written to the ledger directly (demo history): the tenant's guards are rebuilt. */
  invalidate(tenantId: string): Promise<void>;
}

export function createMileage(deps: MileageDeps): Mileage {
  const now = deps.now ?? Date.now;
  const audit = deps.audit ?? new AuditLog(deps.ch, deps.logger);
  const codeKeys: CodeKeys = deps.codeKeys ?? tenantKeys(deps.box, 'mileage-session-code', 'createMileage');
  const residents = () => (typeof deps.residents === 'function' ? deps.residents() : deps.residents);
  // ledger, member and card rows go through the event log (acknowledged once durable there); the
  // shipper inserts them in batches, so a crowd's awards share a few INSERTs
  const { tables, shipper } = deps.ingest;
  // staff reads that must see what was acknowledged a moment ago ship the log first (bounded)
  const settle = () => shipper.drain(10_000);
  const catalogue = new Catalogue(deps.ch, audit, settle);
  const guards = new AwardGuards(deps.ch, deps.redis, deps.logger);
  tables.register('mileage_ledger', LEDGER_COLUMNS);
  tables.register('mileage_members', MEMBER_COLUMNS);
  tables.register('mileage_cards', CARD_COLUMNS);
  // a rebuild reads ClickHouse: every row this process acknowledged must be there first
  guards.beforeRebuild = () => shipper.drain();
  const members = new Members(deps.ch, guards, tables, settle);
  const awards = new Awards(guards, members, tables, deps.logger);
  const ledger = new LedgerReads(deps.ch, now, settle);
  const cards = new CardService({
    ch: deps.ch,
    guards,
    tables,
    tenants: deps.tenants,
    endpoints: deps.endpoints,
    audit,
    logger: deps.logger,
    residents,
    now,
    imageUrl: async (tenantId, programmeId, userId) => {
      const base = typeof deps.publicUrl === 'function' ? deps.publicUrl() : deps.publicUrl;
      // LINE fetches message images over https only
      if (!base?.startsWith('https://')) return undefined;
      return base.replace(/\/+$/, '') + (await cardImagePath(codeKeys, tenantId, programmeId, userId));
    },
  });
  awards.cards = cards;
  const grants = new Grants({ catalogue, awards, members, guards, ledger, audit, redis: deps.redis, now });
  const resident = new ResidentMileage({ catalogue, awards, guards, members, ledger, cards, codeKeys, now });
  const codes = new SessionCodes(codeKeys, residents);
  /** Reads the catalogue and, where the tenant has a programme, its guards (in the background). */
  const prepare = (tenantId: string) => {
    catalogue
      .tenant(tenantId)
      .then((c) => (c.programmes.length > 0 ? guards.run(tenantId, async (epoch) => epoch) : undefined))
      .catch((err: unknown) =>
        deps.logger.warn({ err, tenantId }, 'mileage: the award path could not be prepared ahead'),
      );
  };
  // a programme or session changed (an event's QR code printed before the crowd comes): ready again
  catalogue.onChange = prepare;
  if (deps.ingestHandlers) {
    registerMileageChat(deps.ingestHandlers, {
      catalogue,
      resident,
      tenants: deps.tenants,
      endpoints: deps.endpoints,
      redis: deps.redis,
      logger: deps.logger,
      residents,
    });
  }
  return {
    catalogue,
    guards,
    members,
    awards,
    ledger,
    cards,
    grants,
    resident,
    codes,
    async start() {
      await guards.start();
      // the award path made ready ahead of the first award: each tenant's guards rebuilt from the
      // ledger now, not while an event's crowd waits behind the first scan
      for (const t of await deps.tenants.list()) prepare(t.id);
    },
    async stop() {
      // acknowledged rows are in the event log: ingest ships them (now or after a restart)
    },
    registerRoutes(app, auth) {
      registerMileageRoutes(app, {
        auth,
        audit,
        tenants: deps.tenants,
        catalogue,
        grants,
        ledger,
        members,
        cards,
        codes,
      });
    },
    registerResidentApi(shell) {
      registerMileageResidentApi(shell, { resident, cards, now });
    },
    invalidate: (tenantId) => guards.invalidate(tenantId),
  };
}
