/**
 * Insight pollers: LINE's Insight statistics into ClickHouse, per tenant, within LINE's
 * 60 calls per hour per channel.
 * - daily followers/targetedReaches/blocks of the previous day (Asia/Tokyo), BullMQ job schedulers;
 * - backfill of a date range (queue while the suite runs, `backfillDirect` otherwise);
 * - statistics of each tracked delivery for 14 days after sending, as snapshots.
 */
export {
  createInsightPollers,
  trackDelivery,
  nextPollAt,
  TRACK_MS,
  type BackfillResult,
  type InsightPollers,
  type InsightPollersOptions,
  type InsightStatus,
} from './pollers.ts';
export { registerInsightRoutes } from './routes.ts';
export { backfillDirect, describeFollowersDay, type DirectBackfillDeps, type DirectBackfillResult } from './direct.ts';
export {
  backfillInputSchema,
  parseBackfillInput,
  trackDeliveryInputSchema,
  MAX_BACKFILL_DAYS,
  type BackfillInput,
  type TrackDeliveryInput,
} from './input.ts';
export { InsightBudget, type BudgetOptions } from './budget.ts';
export {
  InsightStore,
  type DeliveryKind,
  type FollowersDay,
  type MessageStatsSnapshot,
  type TrackedDelivery,
} from './store.ts';
export { tokyoDay } from './dates.ts';
