/**
 * The residents' JSON API inside LINE (through core/resident-shell.ts: only for a caller whose LIFF
 * ID token verifies; the user id is the token's):
 *
 *   POST /liff-api/<tenant>/mileage/scan      {code} → AwardResult ({awarded, points, balance, goal, memberNo, cardIssued?});
 *                                             a scan already awarded answers 200 with awarded:false.
 *   GET  /liff-api/<tenant>/mileage/summary   → ResidentSummary (the first visit gives a member number)
 *   GET  /liff-api/<tenant>/mileage/history?limit&offset → { entries, total, limit, offset }
 *   GET  /liff-api/<tenant>/mileage/card      → { card, design, memberNo, tenantName, programmeName }
 *   GET  /liff-api/<tenant>/mileage/card-image → { type, data (base64) } of the design in use (404 if none)
 */
import type { ResidentShell } from '../core/resident-shell.ts';
import { AppError } from '../core/errors.ts';
import { tokyoToday } from '../core/time.ts';
import type { CardService } from './cards.ts';
import type { ResidentMileage } from './resident.ts';
import { historyQuerySchema, scanInputSchema } from './schemas.ts';
import { parseInput } from './validate.ts';

export function registerMileageResidentApi(
  residents: ResidentShell,
  deps: { resident: ResidentMileage; cards: CardService; now: () => number },
): void {
  const { resident, cards } = deps;
  residents.api('POST', 'mileage/scan', async ({ tenant, userId, body }) =>
    resident.scan(tenant.id, userId, parseInput(scanInputSchema, body).code),
  );
  residents.api('GET', 'mileage/summary', async ({ tenant, userId }) =>
    resident.summary(tenant.id, userId, { join: true }),
  );
  residents.api('GET', 'mileage/history', async ({ tenant, userId, req }) =>
    resident.history(tenant.id, userId, parseInput(historyQuerySchema, req.query)),
  );
  residents.api('GET', 'mileage/card', async ({ tenant, userId }) => {
    const s = await resident.summary(tenant.id, userId);
    const design = s.card?.designId
      ? await cards.design(s.card.designId).catch(() => undefined)
      : await cards.published();
    return {
      tenantName: tenant.name,
      programmeName: s.programme?.name ?? null,
      memberNo: s.memberNo,
      card: s.card,
      design: design ?? null,
      today: tokyoToday(deps.now()),
    };
  });
  residents.api('GET', 'mileage/card-image', async () => {
    const design = await cards.published();
    const img = design?.hasImage ? await cards.image(design.designId) : undefined;
    if (!img) throw new AppError('design_no_image', 'カードの画像はありません', 404);
    return { type: img.type, data: img.bytes.toString('base64') };
  });
}
