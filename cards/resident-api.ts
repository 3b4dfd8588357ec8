/**
 * The residents' card API inside LINE (core/resident-shell.ts: only for a caller whose LIFF ID token
 * verifies; the household is always the token's user's own, never a parameter):
 *
 *   GET  /liff-api/<tenant>/cards/household   → { household | null }            (the registration form)
 *   PUT  /liff-api/<tenant>/cards/household   {holderName, relationship, kind, children[]} → { household }
 *   GET  /liff-api/<tenant>/cards/card        → CardAnswer (what the card page shows)
 *   GET  /liff-api/<tenant>/cards/card-image  → { type, data } of the published card image (404 if none)
 *   GET  /liff-api/<tenant>/cards/pass        → { type, data } of the まいたまパス image (404 if none)
 *
 * Everything here reads the cards' local store (LMDB) and the tenant's data key file: no ClickHouse,
 * no Redis, so the card opens while either is down.
 */
import { AppError } from '../core/errors.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import { tokyoToday } from '../core/time.ts';
import { type Eligibility, eligibility } from './eligibility.ts';
import type { Household, Households } from './households.ts';
import type { CardImages } from './images.ts';
import { KIND_LABELS } from './schemas.ts';

export interface HouseholdView {
  holderName: string;
  relationship: string;
  kind: Household['kind'];
  kindLabel: string;
  children: Array<{ name: string; birthDate: string }>;
  updatedAt: number;
}

export interface CardAnswer {
  registered: boolean;
  household: HouseholdView | null;
  eligibility: Eligibility | null;
  hasImage: boolean;
  shopCode: string;
  today: string;
}

export const householdView = (h: Household): HouseholdView => ({
  holderName: h.holderName,
  relationship: h.relationship,
  kind: h.kind,
  kindLabel: KIND_LABELS[h.kind],
  children: h.children.map((c) => ({ name: c.name, birthDate: c.birthDate })),
  updatedAt: h.updatedAt,
});

export function cardAnswer(h: Household | undefined, images: CardImages, tenantId: string, today: string): CardAnswer {
  const hasImage = images.has(tenantId, 'card');
  const shopCode = images.shopCode(tenantId);
  if (!h) return { registered: false, household: null, eligibility: null, hasImage, shopCode, today };
  const e = eligibility({ kind: h.kind, birthDates: h.children.map((c) => c.birthDate) }, today);
  return { registered: true, household: householdView(h), eligibility: e, hasImage, shopCode, today };
}

export function registerCardsResidentApi(
  residents: ResidentShell,
  deps: { households: Households; images: CardImages; now: () => number },
): void {
  const { households, images } = deps;
  residents.api('GET', 'cards/household', async ({ tenant, userId }) => {
    const h = households.get(tenant.id, userId);
    return { household: h ? householdView(h) : null };
  });
  residents.api('PUT', 'cards/household', async ({ tenant, userId, body }) => {
    const h = await households.save(tenant.id, userId, body, tokyoToday(deps.now()));
    return { household: householdView(h) };
  });
  residents.api('GET', 'cards/card', async ({ tenant, userId }) =>
    cardAnswer(households.get(tenant.id, userId), images, tenant.id, tokyoToday(deps.now())),
  );
  residents.api('GET', 'cards/card-image', async ({ tenant }) => {
    const img = images.get(tenant.id, 'card');
    if (!img) throw new AppError('no_image', 'カードの画像はまだ登録されていません', 404);
    return { type: img.type, data: img.data.toString('base64') };
  });
  residents.api('GET', 'cards/pass', async ({ tenant }) => {
    const img = images.get(tenant.id, 'pass');
    if (!img) throw new AppError('no_image', 'まいたまパスの画像はまだ登録されていません', 404);
    return { type: img.type, data: img.data.toString('base64') };
  });
}
