/**
 * GET /v2/bot/insight/demographic: friends' attributes as percentages (one decimal place).
 * LINE answers `available: false` when the account has too few friends (under 20).
 */
import {
  AGES,
  APP_TYPES,
  AREAS,
  GENDERS,
  percentages,
  SUBSCRIPTION_PERIODS,
  subscriptionPeriodIndex,
} from './demographics.ts';
import type { Population } from './population.ts';
import { PRIVACY_THRESHOLD } from './message-insight.ts';

function tiles<K extends string>(
  field: K,
  names: readonly string[],
  counts: ArrayLike<number>,
  total: number,
  dropZero: boolean,
) {
  const pct = percentages(counts, total);
  const out: Array<Record<K, string> & { percentage: number }> = [];
  for (let i = 0; i < names.length; i++) {
    if (dropZero && counts[i] === 0) continue;
    out.push({ [field]: names[i]!, percentage: pct[i]! } as Record<K, string> & { percentage: number });
  }
  return out.sort((a, b) => b.percentage - a.percentage);
}

export function demographicInsight(p: Population, nowMs: number): Record<string, unknown> {
  const total = p.friends;
  if (total < PRIVACY_THRESHOLD) {
    return { available: false, genders: [], ages: [], areas: [], appTypes: [], subscriptionPeriods: [] };
  }
  const d = p.demographics;
  const periods = new Float64Array(SUBSCRIPTION_PERIODS.length);
  const nowSec = nowMs / 1000;
  for (let k = p.friendStart; k < p.blockStart; k++) {
    const i = p.perm[k]!;
    periods[subscriptionPeriodIndex(Math.floor((nowSec - p.followedAt[i]!) / 86_400))]!++;
  }
  return {
    available: true,
    genders: tiles('gender', GENDERS, d.gender, total, false),
    ages: tiles('age', AGES, d.age, total, false),
    areas: tiles('area', AREAS, d.area, total, true),
    appTypes: tiles('appType', APP_TYPES, d.appType, total, false),
    subscriptionPeriods: tiles('subscriptionPeriod', SUBSCRIPTION_PERIODS, periods, total, false),
  };
}
