/**
 * The definitions of every figure the dashboard and the reports show: one place, shared.
 *
 * A figure is a number or null. Null means "not known", never zero: LINE withholds counts under
 * its privacy threshold (fewer than 20 people), a statistic may not have been fetched yet, or a
 * ratio's denominator is zero or unknown. A null is shown as "—" with the reason beside it.
 */

export type Figure = number | null;

/** Why a figure is null; each has a sentence people read. */
export type MissingReason =
  | 'privacy' // LINE answered null: under its privacy threshold
  | 'not_fetched' // LINE's statistics for the period are not stored (yet)
  | 'no_deliveries' // nothing was delivered in the period
  | 'no_population' // the tenant's population is not registered
  | 'no_denominator' // the denominator is zero
  | 'no_source' // the data this figure needs is not collected by this installation
  | 'no_programme'; // the municipality has no mileage programme for the fiscal year

export const MISSING_REASONS: Record<MissingReason, string> = {
  privacy: 'LINE のプライバシー保護により、20 人未満の値は LINE から提供されません',
  not_fetched: 'LINE の統計 (Insight) がこの期間についてまだ取得されていません',
  no_deliveries: 'この期間の配信がありません',
  no_population: '人口が登録されていません',
  no_denominator: '分母が 0 のため計算できません',
  no_source: 'この項目の元になるデータはまだ記録されていません',
  no_programme: 'この年度の健康マイレージ事業が登録されていません',
};

export interface FigureDefinition {
  label: string;
  unit: '人' | '%' | '件' | '回' | '';
  definition: string;
}

/** What each figure means, shown on the pages and in the reports. */
export const FIGURES = {
  friends: {
    label: '友だち数',
    unit: '人',
    definition:
      'LINE が数える友だち数 (Insight の followers)。月末時点 (その月で最後に取得できた日) の値で、ブロック中の人も含みます',
  },
  friendsChange: {
    label: '今月の増減',
    unit: '人',
    definition: '友だち数 (月末) − 前月末の友だち数',
  },
  friendsPerPopulation: {
    label: '人口あたり友だち',
    unit: '%',
    definition: '友だち数 ÷ 人口 (登録されている人口)',
  },
  targetedReaches: {
    label: 'ターゲットリーチ',
    unit: '人',
    definition: 'LINE が数える、属性で絞り込んだ配信が届く友だちの数 (Insight の targetedReaches)',
  },
  blocks: {
    label: 'ブロック数',
    unit: '人',
    definition: 'LINE が数えるブロック中の人数 (Insight の blocks)。月末時点の値',
  },
  blockRate: {
    label: 'ブロック率',
    unit: '%',
    definition: 'ブロック数 ÷ 友だち数 (どちらも LINE が数える月末時点の値)',
  },
  follows: {
    label: '友だち追加',
    unit: '人',
    definition: 'その期間に LINE から届いた友だち追加の通知 (ブロック解除を除く)',
  },
  unblocks: {
    label: 'ブロック解除',
    unit: '人',
    definition: 'その期間に LINE から届いたブロック解除の通知',
  },
  unfollows: {
    label: '新規ブロック',
    unit: '人',
    definition: 'その期間に LINE から届いたブロックの通知',
  },
  deliveries: {
    label: '配信数',
    unit: '件',
    definition: 'その月に送った配信 (統計を追跡している配信) の件数',
  },
  delivered: {
    label: '配信人数',
    unit: '人',
    definition: 'メッセージが届いた人数 (LINE の delivered、または配信記録の送信成功数)',
  },
  uniqueImpressions: {
    label: '開封人数',
    unit: '人',
    definition: 'メッセージを開いた人数 (LINE の uniqueImpression)',
  },
  openRate: {
    label: '開封率',
    unit: '%',
    definition: '開封人数 ÷ 配信人数。両方が分かる配信だけで計算します',
  },
  clicks: {
    label: 'クリック人数',
    unit: '人',
    definition: 'メッセージ内の URL を開いた人数 (LINE の uniqueClick) の合計',
  },
  clickRate: {
    label: 'クリック率',
    unit: '%',
    definition: 'クリック人数 ÷ 配信人数',
  },
} as const satisfies Record<string, FigureDefinition>;

export type FigureName = keyof typeof FIGURES;

/** num ÷ den, or null when either is unknown or the denominator is zero. */
export function ratio(num: Figure, den: Figure): Figure {
  if (num === null || den === null || den === 0) return null;
  return num / den;
}

/** Open rate = unique impressions ÷ delivered. */
export const openRate = (f: { uniqueImpressions: Figure; delivered: Figure }): Figure =>
  ratio(f.uniqueImpressions, f.delivered);

/** Click rate = unique clicks ÷ delivered. */
export const clickRate = (f: { clicks: Figure; delivered: Figure }): Figure => ratio(f.clicks, f.delivered);

/** Block rate = blocks ÷ friends, both as LINE counts them. */
export const blockRate = (f: { blocks: Figure; friends: Figure }): Figure => ratio(f.blocks, f.friends);

/** Friends per population (a fraction; shown as %). */
export const friendsPerPopulation = (f: { friends: Figure; population: Figure }): Figure =>
  ratio(f.friends, f.population);

/** Difference of two counts, null when either is unknown. */
export function change(now: Figure, before: Figure): Figure {
  return now === null || before === null ? null : now - before;
}

/** Sum of counts; null when all are unknown. `partial` says some were unknown. */
export function sumKnown(values: readonly Figure[]): { value: Figure; partial: boolean } {
  const known = values.filter((v): v is number => v !== null);
  return { value: known.length ? known.reduce((a, b) => a + b, 0) : null, partial: known.length < values.length };
}

export const DASH = '—';

/** 12,345 or "—". */
export function formatCount(v: Figure): string {
  return v === null ? DASH : Math.round(v).toLocaleString('ja-JP');
}

/** +1,234 / −56 / ±0 or "—". */
export function formatChange(v: Figure): string {
  if (v === null) return DASH;
  if (v === 0) return '±0';
  return `${v > 0 ? '+' : '−'}${Math.abs(Math.round(v)).toLocaleString('ja-JP')}`;
}

/** A fraction as a percentage with `digits` decimals ("12.3%"), or "—". */
export function formatPercent(v: Figure, digits = 1): string {
  return v === null ? DASH : `${(v * 100).toFixed(digits)}%`;
}

/** Rounds a fraction for an API answer (percent shown with one decimal needs four digits here). */
export function roundRatio(v: Figure): Figure {
  return v === null ? null : Math.round(v * 1e6) / 1e6;
}
