/** The resident API's answers the mileage pages read besides mileage/schemas.ts's (mileage/resident-api.ts). */
import type { Card, Design } from '../schemas.ts';

/** GET mileage/card */
export interface CardAnswer {
  tenantName: string;
  programmeName: string | null;
  memberNo: string | null;
  card: Card | null;
  /** The card's design (or the one in use when there is no card yet). */
  design: Design | null;
  today: string;
}

/** Where a published design's artwork is served (mileage/printable-routes.ts). */
export const artworkUrl = (tenantId: string, designId: string) =>
  `/liff/${encodeURIComponent(tenantId)}/mileage/designs/${encodeURIComponent(designId)}/artwork`;

/** The look of a card without a design (none published yet). */
export const DEFAULT_LOOK = { title: '三重とこわか健康応援カード', note: '', colour: '#1d6fa5' } as const;
