/**
 * cards/: benefit cards with personal data — the パパ・ママ応援ショップ優待カード (households registered by
 * residents, personal fields sealed with the tenant's data key, eligibility by the youngest child's
 * age) and the まいたまパス (an image anyone may show). Households and images live in a local LMDB
 * store under the data directory, so the card opens while ClickHouse or Redis is down.
 *
 *   const cards = createCards({ dataDir, keys, audit, … });
 *   cards.registerResidentApi(residentShell);   // /liff-api/<tenant>/cards/…
 *   registerCardsResidentPages(residentShell);  // /liff/<tenant>/cards/…
 *   cards.registerRoutes(app, auth);            // staff API (card_holders permission for personal data),
 *                                               // and the public shop-code barcode (/liff/<tenant>/cards/shop-code.svg)
 *   await cards.close();
 */
import path from 'node:path';
import type { Authenticator } from '../core/auth.ts';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import type { DataKeys } from '../core/data-keys.ts';
import type { FastifyInstance } from '../core/http.ts';
import type { TenantStore } from '../core/tenants.ts';
import { CardStore, Households } from './households.ts';
import { registerShopCodeBarcode } from './barcode.ts';
import { type ErasureResult, erasePersonalData } from './erasure.ts';
import { CardImages } from './images.ts';
import { registerCardsResidentApi } from './resident-api.ts';
import { registerCardsRoutes } from './routes.ts';
import { type CardDeliveries, CardStaff, PUSH_AUDIENCE_LABEL } from './staff.ts';
import type { ResidentShell } from '../core/resident-shell.ts';

export { eligibility, eligibleUntil, reachesAge, type Eligibility, type HouseholdKind } from './eligibility.ts';
export { CardStore, Households, type Household } from './households.ts';
export { CardImages } from './images.ts';
export { CARD_HOLDER_ROUTES } from './routes.ts';
export { shopCodeBarcodeOptions, shopCodeBarcodeUrl, shopCodeSvg } from './barcode.ts';
export { certificatePdf, erasePersonalData, type ErasureResult } from './erasure.ts';
export type { CardCounts, CardDeliveries, CardStaff, HolderRow } from './staff.ts';
export { PUSH_AUDIENCE_LABEL } from './staff.ts';
export { registerCardsPages } from './pages.ts';
export { registerCardsResidentPages } from './resident-pages.ts';
export { householdInputSchema, KIND_LABELS, type HouseholdInput } from './schemas.ts';

export const cardsStoreDir = (dataDir: string) => path.join(dataDir, 'cards');

export interface CardsDeps {
  /** The cards' LMDB directory (cardsStoreDir(dataDir)). */
  dir: string;
  keys: DataKeys;
  audit: AuditLog;
  tenants: TenantStore;
  /** delivery's service (delivery.service): pushes to chosen holders go out as deliveries. */
  deliveries?: CardDeliveries;
  /** An erasure takes the tenant's wrapped data key out of the backups on this server (ops); the ids touched. */
  forgetKeyInBackups?: (tenantId: string, erasedAt: string) => Promise<string[]>;
  /** The clock eligibility is judged by (tests move it). */
  now?: () => number;
}

export interface Cards {
  store: CardStore;
  households: Households;
  images: CardImages;
  keys: DataKeys;
  staff: CardStaff;
  registerResidentApi(residents: ResidentShell): void;
  registerRoutes(app: FastifyInstance, auth: Authenticator): void;
  /** Logical erasure of a tenant's personal data (its data key destroyed); `confirm` is the tenant id typed again. */
  erase(by: AuditContext, tenantId: string, confirm: string): Promise<ErasureResult>;
  close(): Promise<void>;
}

export function createCards(deps: CardsDeps): Cards {
  const now = deps.now ?? Date.now;
  const store = new CardStore(deps.dir);
  const households = new Households(store, deps.keys);
  const images = new CardImages(store);
  const erase = async (by: AuditContext, tenantId: string, confirm: string) => {
    const tenant = await deps.tenants.require(tenantId);
    return erasePersonalData({
      tenantId,
      tenantName: tenant.name,
      confirm,
      keys: deps.keys,
      store,
      audit: deps.audit,
      by,
      forgetPushRecipients: deps.deliveries
        ? () => deps.deliveries!.forgetNamedAudiences(tenantId, PUSH_AUDIENCE_LABEL)
        : undefined,
      forgetKeyInBackups: deps.forgetKeyInBackups
        ? () => deps.forgetKeyInBackups!(tenantId, new Date(now()).toISOString())
        : undefined,
    });
  };
  const staff = new CardStaff({
    households,
    images,
    audit: deps.audit,
    tenants: deps.tenants,
    deliveries: deps.deliveries,
    now,
  });
  return {
    store,
    households,
    images,
    keys: deps.keys,
    staff,
    registerResidentApi(residents) {
      registerCardsResidentApi(residents, { households, images, now });
    },
    registerRoutes(app, auth) {
      registerCardsRoutes(app, { auth, staff, tenants: deps.tenants, erase });
      registerShopCodeBarcode(app, images);
    },
    erase,
    close: () => store.close(),
  };
}
