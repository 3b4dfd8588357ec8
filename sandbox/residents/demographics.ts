/**
 * Residents' attributes as LINE's demographic Insight reports them (insight.yml GenderTile,
 * AgeTile, AreaTile, AppTypeTile, SubscriptionPeriodTile), and their distributions.
 * Attributes are a pure function of (key, index), so they need no memory per resident.
 */
import { cumulativeOf, hash3, pickCumulative, unit } from './prng.ts';

export const GENDERS = ['male', 'female', 'unknown'] as const;
const GENDER_WEIGHTS = [36, 44, 20];

export const AGES = [
  'from0to14',
  'from15to19',
  'from20to24',
  'from25to29',
  'from30to34',
  'from35to39',
  'from40to44',
  'from45to49',
  'from50to54',
  'from55to59',
  'from60to64',
  'from65to69',
  'from70',
  'unknown',
] as const;
const AGE_WEIGHTS = [1, 3, 5, 6, 7, 8, 9, 10, 9, 8, 7, 5, 4, 18];

/** LINE's area names for Japan (prefectures without 都/府/県). */
export const PREFECTURES = [
  '北海道',
  '青森',
  '岩手',
  '宮城',
  '秋田',
  '山形',
  '福島',
  '茨城',
  '栃木',
  '群馬',
  '埼玉',
  '千葉',
  '東京',
  '神奈川',
  '新潟',
  '富山',
  '石川',
  '福井',
  '山梨',
  '長野',
  '岐阜',
  '静岡',
  '愛知',
  '三重',
  '滋賀',
  '京都',
  '大阪',
  '兵庫',
  '奈良',
  '和歌山',
  '鳥取',
  '島根',
  '岡山',
  '広島',
  '山口',
  '徳島',
  '香川',
  '愛媛',
  '高知',
  '福岡',
  '佐賀',
  '長崎',
  '熊本',
  '大分',
  '宮崎',
  '鹿児島',
  '沖縄',
] as const;
/** Index of the 'unknown' area. */
export const AREA_UNKNOWN = PREFECTURES.length;
export const AREAS = [...PREFECTURES, 'unknown'] as const;

export const APP_TYPES = ['ios', 'android', 'others'] as const;
const APP_WEIGHTS = [62, 33, 5];

export const SUBSCRIPTION_PERIODS = [
  'within7days',
  'within30days',
  'within90days',
  'within180days',
  'within365days',
  'over365days',
  'unknown',
] as const;
const PERIOD_LIMIT_DAYS = [7, 30, 90, 180, 365];

const GENDER_CUM = cumulativeOf(GENDER_WEIGHTS);
const AGE_CUM = cumulativeOf(AGE_WEIGHTS);
const APP_CUM = cumulativeOf(APP_WEIGHTS);
const GENDER_UNKNOWN = 2;
const AGE_UNKNOWN = AGES.length - 1;

export interface Attributes {
  gender: number;
  age: number;
  area: number;
  appType: number;
}

/** Derives one resident's attributes. `home` is the channel's home prefecture index. */
export function attributesOf(key: number, index: number, home: number): Attributes {
  const gender = pickCumulative(GENDER_CUM, unit(hash3(key, index, 101)));
  const age = pickCumulative(AGE_CUM, unit(hash3(key, index, 102)));
  const a = unit(hash3(key, index, 103));
  // Most friends of a municipality's account live in its prefecture; a quarter are unknown.
  const area = a < 0.62 ? home : a < 0.87 ? AREA_UNKNOWN : hash3(key, index, 104) % PREFECTURES.length;
  const appType = pickCumulative(APP_CUM, unit(hash3(key, index, 105)));
  return { gender, age, area, appType };
}

/** LINE counts targeted reaches only for users whose gender, age and area are all known. */
export function isTargetable(a: Attributes): boolean {
  return a.gender !== GENDER_UNKNOWN && a.age !== AGE_UNKNOWN && a.area !== AREA_UNKNOWN;
}

/** Index into SUBSCRIPTION_PERIODS for a friendship that is `days` old. */
export function subscriptionPeriodIndex(days: number): number {
  for (let i = 0; i < PERIOD_LIMIT_DAYS.length; i++) if (days < PERIOD_LIMIT_DAYS[i]!) return i;
  return PERIOD_LIMIT_DAYS.length;
}

/** Friend counts per demographic category, kept up to date as friendships change. */
export class DemographicCounts {
  readonly gender = new Float64Array(GENDERS.length);
  readonly age = new Float64Array(AGES.length);
  readonly area = new Float64Array(AREAS.length);
  readonly appType = new Float64Array(APP_TYPES.length);
  targetable = 0;

  add(a: Attributes, sign: 1 | -1): void {
    this.gender[a.gender]! += sign;
    this.age[a.age]! += sign;
    this.area[a.area]! += sign;
    this.appType[a.appType]! += sign;
    if (isTargetable(a)) this.targetable += sign;
  }
}

/** Percentages rounded to one decimal place, as LINE returns them. */
export function percentages(counts: ArrayLike<number>, total: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    out.push(total > 0 ? Math.round((counts[i]! * 1000) / total) / 10 : 0);
  }
  return out;
}
