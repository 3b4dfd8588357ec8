/**
 * cards/: benefit cards with personal data — the パパ・ママ応援ショップ優待カード (households registered by
 * residents, personal fields sealed with the tenant's data key, eligibility by the youngest child's
 * age) and the まいたまパス (an image anyone may show). Households and images live in a local LMDB
 * store under the data directory, so the card opens while ClickHouse or Redis is down.
 *
 *   const cards = createCards({ dataDir, keys, audit, … });
 *   cards.registerResidentApi(residentShell);   // /liff-api/<tenant>/cards/…
 *   registerCardsResidentPages(residentShell);  // /liff/<tenant>/cards/…
 *   cards.registerRoutes(app, auth);            // staff API (card_holders permission for personal data)
 *   await cards.close();
 */
import path from 'node:path';
import type { DataKeys } from '../core/data-keys.ts';
import { CardStore, Households } from './households.ts';
import { CardImages } from './images.ts';
import { registerCardsResidentApi } from './resident-api.ts';
import type { ResidentShell } from '../core/resident-shell.ts';

export { eligibility, eligibleUntil, reachesAge, type Eligibility, type HouseholdKind } from './eligibility.ts';
export { CardStore, Households, type Household } from './households.ts';
export { CardImages } from './images.ts';
export { registerCardsResidentPages } from './resident-pages.ts';
export { householdInputSchema, KIND_LABELS, type HouseholdInput } from './schemas.ts';

export const cardsStoreDir = (dataDir: string) => path.join(dataDir, 'cards');

export interface CardsDeps {
  /** The cards' LMDB directory (cardsStoreDir(dataDir)). */
  dir: string;
  keys: DataKeys;
  /** The clock eligibility is judged by (tests move it). */
  now?: () => number;
}

export interface Cards {
  store: CardStore;
  households: Households;
  images: CardImages;
  keys: DataKeys;
  registerResidentApi(residents: ResidentShell): void;
  close(): Promise<void>;
}

export function createCards(deps: CardsDeps): Cards {
  const now = deps.now ?? Date.now;
  const store = new CardStore(deps.dir);
  const households = new Households(store, deps.keys);
  const images = new CardImages(store);
  return {
    store,
    households,
    images,
    keys: deps.keys,
    registerResidentApi(residents) {
      registerCardsResidentApi(residents, { households, images, now });
    },
    close: () => store.close(),
  };
}
