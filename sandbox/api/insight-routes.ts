/**
 * Insight API: the world computes the figures (and applies LINE's privacy threshold and the
 * "unready" rule); this layer validates the query and shapes the route. Query parameters were
 * already checked against the spec (yyyyMMdd pattern, unit name pattern).
 */
import type { Handler } from './context.ts';
import { invalidQuery, notFound } from './errors.ts';
import { tokyoDate } from './account-routes.ts';

const DAY_MS = 86_400_000;

function parseDate(value: string, property: string): number {
  const y = Number(value.slice(0, 4));
  const m = Number(value.slice(4, 6));
  const d = Number(value.slice(6, 8));
  const t = Date.UTC(y, m - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) {
    throw invalidQuery([{ message: 'must be a valid date in yyyyMMdd', property }]);
  }
  return t;
}

const getNumberOfFollowers: Handler = (ctx) => {
  // The date parameter is optional: LINE then reports yesterday (Asia/Tokyo).
  const date = ctx.query.date === undefined ? tokyoDate(ctx.state.world.now() - DAY_MS) : String(ctx.query.date);
  parseDate(date, 'date');
  return { status: 200, body: ctx.channel.followersInsight(date) };
};

const getNumberOfMessageDeliveries: Handler = (ctx) => {
  const date = String(ctx.query.date);
  parseDate(date, 'date');
  return { status: 200, body: ctx.channel.messageDeliveriesInsight(date) };
};

const getFriendsDemographics: Handler = (ctx) => ({ status: 200, body: ctx.channel.demographicInsight() });

const getMessageEvent: Handler = (ctx) => {
  const body = ctx.channel.messageEventInsight(String(ctx.query.requestId));
  if (!body) throw notFound();
  return { status: 200, body };
};

const getStatisticsPerUnit: Handler = (ctx) => {
  const from = String(ctx.query.from);
  const to = String(ctx.query.to);
  const fromMs = parseDate(from, 'from');
  const toMs = parseDate(to, 'to');
  if (toMs < fromMs) throw invalidQuery([{ message: 'must not be earlier than from', property: 'to' }]);
  if (toMs - fromMs > 30 * DAY_MS) throw invalidQuery([{ message: 'must be within 30 days of from', property: 'to' }]);
  return {
    status: 200,
    body: ctx.channel.aggregationUnitInsight(String(ctx.query.customAggregationUnit), from, to),
  };
};

export const insightRoutes: Record<string, Handler> = {
  getNumberOfFollowers,
  getNumberOfMessageDeliveries,
  getFriendsDemographics,
  getMessageEvent,
  getStatisticsPerUnit,
};
