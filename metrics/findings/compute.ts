/**
 * The findings: what a good analyst would say about the period's deliveries, blocks, growth and
 * mileage, each with its sample size, or left out with the reason when the data is too thin.
 * Works on the rows read once (read.ts); no query per delivery.
 */
import type { Tenant } from '../../core/tenants.ts';
import type { Delivery, Raw } from './read.ts';
import { dispersion, groupInterval, median, rateRatio, type Interval, type Trial } from './stats.ts';

export type Topic = 'timing' | 'frequency' | 'content' | 'growth' | 'peers' | 'mileage';

export const TOPICS: Record<Topic, string> = {
  timing: '配信の時間帯',
  frequency: '配信頻度とブロック',
  content: '配信内容',
  growth: '友だちの増加',
  peers: '他の成功事例',
  mileage: '健康マイレージ',
};

/** Thresholds below which nothing is said. */
export const MIN = {
  /** deliveries with figures for a comparison */
  deliveries: 20,
  /** deliveries in a group compared */
  group: 5,
  /** relative difference worth a sentence */
  ratio: 1.2,
  /** municipalities for a comparison between them */
  municipalities: 5,
  /** deliveries of a municipality for it to be ranked on delivery figures */
  perMunicipality: 8,
  /** promotion events, and new friends either side */
  promotions: 3,
  /** the third best municipality against the others' median */
  peerMargin: 1.15,
  /** new mileage participants for the activities that brought them */
  newcomers: 30,
} as const;

export interface Evidence {
  tenantId: string;
  deliveryId: string;
  title: string;
  sentAt: string;
}

export interface Finding {
  topic: Topic;
  key: string;
  title: string;
  /** The sentence (Japanese, with the numbers). */
  text: string;
  /** The sample it rests on, in words (配信 42 件・配信人数 12,345 人). */
  sample: string;
  /** How large the effect is (|log ratio|): the KPI report shows the most notable. */
  strength: number;
  /** The deliveries behind it (the groups compared), newest first; at most EVIDENCE_MAX. */
  evidence: Evidence[];
  evidenceTotal: number;
}

export interface LeftOut {
  topic: Topic;
  key: string;
  title: string;
  reason: string;
}

export interface HeatCell {
  weekday: number;
  hour: number;
  deliveries: number;
  recipients: number;
  openRate: number | null;
}

export interface BandRow {
  label: string;
  deliveries: number;
  recipients: number;
  blocks: number;
  per1000: number;
  low: number;
  high: number;
}

export interface PeerRow {
  tenantId: string;
  name: string;
  band: string;
  deliveries: number;
  values: Partial<Record<PeerFigure, number>>;
}

export type PeerFigure = 'openRate' | 'clickRate' | 'blocksPer1000' | 'friendsPerPopulation' | 'growthPer1000';

export const PEER_FIGURES: Record<PeerFigure, { label: string; unit: '%' | '人'; higherIsBetter: boolean }> = {
  openRate: { label: '開封率', unit: '%', higherIsBetter: true },
  clickRate: { label: 'クリック率', unit: '%', higherIsBetter: true },
  blocksPer1000: { label: '配信後3日間のブロック (配信人数1,000人あたり)', unit: '人', higherIsBetter: false },
  friendsPerPopulation: { label: '人口あたり友だち', unit: '%', higherIsBetter: true },
  growthPer1000: { label: '友だち純増 (人口1,000人あたり)', unit: '人', higherIsBetter: true },
};

export interface FindingsResult {
  /** null: prefecture-wide (every municipality pooled). */
  tenantId: string | null;
  scopeName: string;
  from: string;
  to: string;
  deliveries: number;
  findings: Finding[];
  leftOut: LeftOut[];
  heatmap: HeatCell[];
  frequency: BandRow[];
  /** Every municipality's figures (for a municipality's own page: only with named peers). */
  peers: PeerRow[];
  /** For a municipality: its band's median per figure and its rank in the band. */
  peerPosition: Array<{ figure: PeerFigure; value: number; bandMedian: number; rank: number; of: number }>;
}

export const WEEKDAYS = ['月', '火', '水', '木', '金', '土', '日'];
const EVIDENCE_MAX = 50;

// ------------------------------------------------------------------ wording

const int = (n: number) => Math.round(n).toLocaleString('ja-JP');
const pct = (r: number) => `${(r * 100).toFixed(1)}%`;
const per1000 = (r: number) => (r * 1000).toFixed(1);
const times = (r: number) => `${r.toFixed(1)} 倍`;
const ci = (i: Interval, f: (r: number) => string) => `95% 信頼区間 ${f(i.low)}〜${f(i.high)}`;
const sampleOf = (ds: number, recipients?: number) =>
  recipients === undefined ? `配信 ${int(ds)} 件` : `配信 ${int(ds)} 件・配信人数 ${int(recipients)} 人`;

function evidence(ds: readonly Delivery[]): { evidence: Evidence[]; evidenceTotal: number } {
  const sorted = [...ds].sort((a, b) => b.sentMs - a.sentMs);
  return {
    evidence: sorted.slice(0, EVIDENCE_MAX).map((d) => ({
      tenantId: d.tenantId,
      deliveryId: d.deliveryId,
      title: d.title,
      sentAt: new Date(d.sentMs).toISOString(),
    })),
    evidenceTotal: ds.length,
  };
}

// ------------------------------------------------------------------ comparing groups of deliveries

interface Group {
  key: string;
  label: string;
  ds: Delivery[];
  trials: Trial[];
  stat: Interval & { x: number; n: number };
}

type Measure = (d: Delivery) => Trial | null;
const opens: Measure = (d) => (d.recipients && d.opens !== null ? { x: d.opens, n: d.recipients } : null);
const clicks: Measure = (d) => (d.recipients && d.clicks !== null ? { x: d.clicks, n: d.recipients } : null);
const blocks: Measure = (d) => (d.recipients ? { x: d.blocks72, n: d.recipients } : null);

interface Comparison {
  groups: Group[];
  best: Group;
  worst: Group;
  ratio: number;
  total: number;
  recipients: number;
}

/**
 * Groups the deliveries, keeps groups with enough deliveries, and compares the best with the worst
 * (higher is better unless `lower`). A string is the reason nothing can be said.
 */
function compare(
  ds: readonly Delivery[],
  groupOf: (d: Delivery) => { key: string; label: string } | null,
  measure: Measure,
  lower = false,
): Comparison | string {
  const by = new Map<string, { label: string; ds: Delivery[]; trials: Trial[] }>();
  let total = 0;
  for (const d of ds) {
    const t = measure(d);
    const g = t && groupOf(d);
    if (!t || !g) continue;
    total++;
    const e = by.get(g.key) ?? { label: g.label, ds: [], trials: [] };
    e.ds.push(d);
    e.trials.push(t);
    by.set(g.key, e);
  }
  if (total < MIN.deliveries) return `比べられる配信が ${total} 件しかありません (${MIN.deliveries} 件以上が必要)`;
  const kept = [...by].filter(([, g]) => g.ds.length >= MIN.group);
  if (kept.length < 2)
    return `比べる区分のうち配信が ${MIN.group} 件以上あるものが ${kept.length} つしかありません (配信 ${total} 件)`;
  const phi = dispersion(kept.map(([, g]) => g.trials));
  const groups: Group[] = kept.map(([key, g]) => ({ key, ...g, stat: groupInterval(g.trials, phi) }));
  const sorted = [...groups].sort((a, b) => (lower ? a.stat.rate - b.stat.rate : b.stat.rate - a.stat.rate));
  const best = sorted[0]!;
  const worst = sorted.at(-1)!;
  const ratio = lower
    ? worst.stat.rate / Math.max(best.stat.rate, 1e-9)
    : best.stat.rate / Math.max(worst.stat.rate, 1e-9);
  return {
    groups,
    best,
    worst,
    ratio,
    total: groups.reduce((a, g) => a + g.ds.length, 0),
    recipients: groups.reduce((a, g) => a + g.stat.n, 0),
  };
}

/** Whether the best and worst differ beyond chance (their intervals apart) and by enough to matter. */
function clear(c: Comparison, lower = false): boolean {
  const apart = lower ? c.best.stat.high < c.worst.stat.low : c.best.stat.low > c.worst.stat.high;
  return apart && c.ratio >= MIN.ratio;
}

const NO_EFFECT = (c: Comparison, what: string) =>
  `${what}の差は偶然の範囲内か小さい (最大 ${c.best.label}、最小 ${c.worst.label}、${sampleOf(c.total, c.recipients)})`;

// ------------------------------------------------------------------ the findings

class Out {
  findings: Finding[] = [];
  leftOut: LeftOut[] = [];
  add(f: Omit<Finding, 'evidence' | 'evidenceTotal'>, ds: readonly Delivery[]) {
    // a ratio against nearly nothing (no blocks at all) does not outrank every other finding
    this.findings.push({ ...f, strength: Math.min(f.strength, Math.log(5)), ...evidence(ds) });
  }
  skip(topic: Topic, key: string, title: string, reason: string) {
    this.leftOut.push({ topic, key, title, reason });
  }
}

function rateFinding(
  out: Out,
  topic: Topic,
  key: string,
  title: string,
  ds: readonly Delivery[],
  groupOf: (d: Delivery) => { key: string; label: string } | null,
  measure: Measure,
  how: { what: string; lower?: boolean; scope: string; format?: 'percent' | 'per1000' },
) {
  const c = compare(ds, groupOf, measure, how.lower);
  if (typeof c === 'string') return out.skip(topic, key, title, `データが少ないため省略: ${c}`);
  if (!clear(c, how.lower)) return out.skip(topic, key, title, `はっきりした差なし: ${NO_EFFECT(c, how.what)}`);
  const f = how.format === 'per1000' ? per1000 : pct;
  const unit = how.format === 'per1000' ? ' 人' : '';
  const lead = how.format === 'per1000' ? '配信人数 1,000 人あたり ' : '';
  const part = (g: Group) =>
    `${lead}${f(g.stat.rate)}${unit} (${ci(g.stat, f)}${unit}、${sampleOf(g.ds.length, g.stat.n)})`;
  const text = how.lower
    ? `${how.scope}では、${c.best.label}の${how.what}は ${part(c.best)} で、${c.worst.label}の ${part(c.worst)} の ${(
        1 / c.ratio
      ).toFixed(2)} 倍 (${times(c.ratio)}の差) でした。`
    : `${how.scope}では、${c.best.label}の${how.what}は ${part(c.best)} で、${c.worst.label}の ${part(c.worst)} の ${times(c.ratio)}でした。`;
  out.add(
    {
      topic,
      key,
      title,
      text,
      sample: sampleOf(c.total, c.recipients),
      strength: Math.log(c.ratio),
    },
    [...c.best.ds, ...c.worst.ds],
  );
}

const hourLabel = (h: number) => `${h}時台`;
const weekdayLabel = (w: number) => `${WEEKDAYS[w - 1]}曜日`;
const band = (n: number) =>
  n >= 4 ? { key: '4', label: '直近 7 日間に 4 回以上' } : { key: String(n), label: `直近 7 日間に ${n} 回` };
const TYPE_LABELS: Record<string, string> = {
  text: 'テキスト',
  image: '画像',
  flex: 'Flex メッセージ',
  video: '動画',
  imagemap: 'イメージマップ',
  template: 'テンプレート',
  sticker: 'スタンプ',
};
const lengthBand = (n: number) =>
  n <= 0
    ? null
    : n < 100
      ? { key: 's', label: '本文 100 字未満' }
      : n < 200
        ? { key: 'm', label: '本文 100〜199 字' }
        : { key: 'l', label: '本文 200 字以上' };

function timing(out: Out, ds: readonly Delivery[], scope: string) {
  rateFinding(
    out,
    'timing',
    'timing.hour_open',
    '送信時刻と開封率',
    ds,
    (d) => ({ key: String(d.hour), label: `${hourLabel(d.hour)}に送った配信` }),
    opens,
    {
      what: '開封率',
      scope,
    },
  );
  rateFinding(
    out,
    'timing',
    'timing.weekday_open',
    '曜日と開封率',
    ds,
    (d) => ({ key: String(d.weekday), label: `${weekdayLabel(d.weekday)}に送った配信` }),
    opens,
    {
      what: '開封率',
      scope,
    },
  );
  rateFinding(
    out,
    'timing',
    'timing.hour_click',
    '送信時刻とクリック率',
    ds,
    (d) => (d.hasLink === false ? null : { key: String(d.hour), label: `${hourLabel(d.hour)}に送った配信` }),
    clicks,
    {
      what: 'クリック率',
      scope,
    },
  );
}

function heatmap(ds: readonly Delivery[]): HeatCell[] {
  const cells = new Map<string, HeatCell & { opens: number; openBase: number }>();
  for (const d of ds) {
    const k = `${d.weekday}:${d.hour}`;
    const c = cells.get(k) ?? {
      weekday: d.weekday,
      hour: d.hour,
      deliveries: 0,
      recipients: 0,
      openRate: null,
      opens: 0,
      openBase: 0,
    };
    c.deliveries++;
    c.recipients += d.recipients ?? 0;
    if (d.recipients && d.opens !== null) {
      c.opens += d.opens;
      c.openBase += d.recipients;
    }
    cells.set(k, c);
  }
  return [...cells.values()]
    .map(({ opens: o, openBase, ...c }) => ({ ...c, openRate: openBase ? o / openBase : null }))
    .sort((a, b) => a.weekday - b.weekday || a.hour - b.hour);
}

function frequency(
  out: Out,
  ds: readonly Delivery[],
  raw: Raw,
  scope: string,
  tenantIds: readonly string[],
): BandRow[] {
  const title = '配信頻度と配信後のブロック';
  const known = ds.filter((d) => d.recipients);
  const bands = new Map<string, { label: string; ds: Delivery[] }>();
  for (const d of known) {
    const b = band(d.perWeek);
    const e = bands.get(b.key) ?? { label: b.label, ds: [] };
    e.ds.push(d);
    bands.set(b.key, e);
  }
  const phi = dispersion([...bands.values()].map((b) => b.ds.map(blocks).filter((t): t is Trial => !!t)));
  const rows: BandRow[] = [...bands]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, b]) => {
      const s = groupInterval(
        b.ds.map(blocks).filter((t): t is Trial => !!t),
        phi,
      );
      return {
        label: b.label,
        deliveries: b.ds.length,
        recipients: s.n,
        blocks: s.x,
        per1000: s.rate * 1000,
        low: s.low * 1000,
        high: s.high * 1000,
      };
    });
  // the account's baseline: blocks per 3 days on days after no delivery
  let qe = 0;
  let qh = 0;
  for (const t of tenantIds) {
    const q = raw.quietBlocks.get(t);
    if (q) {
      qe += q.events;
      qh += q.hours;
    }
  }
  const baseline =
    qh >= 3 ? `配信のない時期のブロックは 3 日あたり ${((qe / qh) * 3).toFixed(1)} 人 (1 アカウントあたり) です。` : '';
  if (known.length < MIN.deliveries) {
    out.skip(
      'frequency',
      'frequency.level',
      title,
      `データが少ないため省略: 配信人数の分かる配信が ${known.length} 件しかありません (${MIN.deliveries} 件以上が必要)`,
    );
  } else {
    // the lowest frequency above which blocks rise: bands ≥ k against bands < k
    const keys = [...bands.keys()].map(Number).sort((a, b) => a - b);
    let found = false;
    for (const k of keys.slice(1)) {
      const hi = known.filter((d) => Math.min(d.perWeek, 4) >= k);
      const lo = known.filter((d) => Math.min(d.perWeek, 4) < k);
      if (hi.length < MIN.group || lo.length < MIN.group) continue;
      const p2 = dispersion([hi.map(blocks) as Trial[], lo.map(blocks) as Trial[]]);
      const h = groupInterval(hi.map(blocks) as Trial[], p2);
      const l = groupInterval(lo.map(blocks) as Trial[], p2);
      const r = h.rate / Math.max(l.rate, 1e-9);
      if (h.low > l.high && r >= MIN.ratio) {
        out.add(
          {
            topic: 'frequency',
            key: 'frequency.level',
            title,
            text: `${scope}では、直近 7 日間の配信が ${k} 回以上になると、配信後 3 日間のブロックが配信人数 1,000 人あたり ${per1000(h.rate)} 人 (${ci(h, per1000)} 人、${sampleOf(hi.length, h.n)}) と、${k - 1} 回以下の ${per1000(l.rate)} 人 (${ci(l, per1000)} 人、${sampleOf(lo.length, l.n)}) の ${times(r)}になりました。週 ${k - 1} 回までの配信ではブロックが少ない傾向です。${baseline}`,
            sample: sampleOf(known.length, h.n + l.n),
            strength: Math.log(r),
          },
          [...hi, ...lo],
        );
        found = true;
        break;
      }
    }
    if (!found)
      out.skip(
        'frequency',
        'frequency.level',
        title,
        `はっきりした差なし: 配信頻度によってブロックが増える水準は見られません (${sampleOf(known.length)})。${baseline}`,
      );
  }
  rateFinding(
    out,
    'frequency',
    'frequency.bubbles',
    '1 回の配信の吹き出し数とブロック',
    ds,
    (d) =>
      d.bubbles
        ? d.bubbles >= 3
          ? { key: '3', label: '吹き出し 3 つ以上の配信' }
          : { key: String(d.bubbles), label: `吹き出し ${d.bubbles} つの配信` }
        : null,
    blocks,
    {
      what: '配信後 3 日間のブロック',
      lower: true,
      scope,
      format: 'per1000',
    },
  );
  return rows;
}

function content(out: Out, ds: readonly Delivery[], raw: Raw, scope: string) {
  const rec = ds.filter((d) => d.audience !== 'none');
  rateFinding(
    out,
    'content',
    'content.type',
    'メッセージの種類と開封率',
    rec,
    (d) => (d.type ? { key: d.type, label: `${TYPE_LABELS[d.type] ?? d.type}の配信` } : null),
    opens,
    { what: '開封率', scope },
  );
  rateFinding(
    out,
    'content',
    'content.length',
    '本文の長さとクリック率',
    rec,
    (d) => (d.hasLink ? lengthBand(d.textLength) : null),
    clicks,
    { what: 'クリック率', scope },
  );
  rateFinding(
    out,
    'content',
    'content.link',
    'リンクの有無と開封率',
    rec,
    (d) =>
      d.hasLink === null
        ? null
        : d.hasLink
          ? { key: 'y', label: 'リンクのある配信' }
          : { key: 'n', label: 'リンクのない配信' },
    opens,
    { what: '開封率', scope },
  );
  rateFinding(
    out,
    'content',
    'content.interest',
    '関心のある分野で絞り込んだ配信の開封率',
    rec,
    (d) => {
      if (d.interests.length !== 1) return null;
      const name = raw.categories.get(`${d.tenantId}\u0000${d.interests[0]}`) ?? d.interests[0]!;
      return { key: name, label: `関心「${name}」で絞り込んだ配信` };
    },
    opens,
    { what: '開封率', scope },
  );
  const seg = (d: Delivery) =>
    d.audience === 'segment'
      ? { key: 's', label: 'セグメント配信' }
      : d.audience === 'all'
        ? { key: 'a', label: 'すべての友だちへの配信' }
        : null;
  rateFinding(out, 'content', 'content.segment_blocks', 'セグメント配信とブロック', rec, seg, blocks, {
    what: '配信後 3 日間のブロック',
    lower: true,
    scope,
    format: 'per1000',
  });
  rateFinding(out, 'content', 'content.segment_open', 'セグメント配信と開封率', rec, seg, opens, {
    what: '開封率',
    scope,
  });
}

// ------------------------------------------------------------------ growth, peers, mileage

export const POPULATION_BANDS: Array<{ max: number; label: string }> = [
  { max: 20_000, label: '人口 2 万人未満' },
  { max: 50_000, label: '人口 2〜5 万人' },
  { max: 150_000, label: '人口 5〜15 万人' },
  { max: Number.POSITIVE_INFINITY, label: '人口 15 万人以上' },
];
export const populationBand = (p: number | null) =>
  p === null ? '人口未登録' : POPULATION_BANDS.find((b) => p < b.max)!.label;

interface Habits {
  evening: number;
  perWeek: number;
  segment: number;
  visual: number;
}

function habits(ds: readonly Delivery[], weeks: number): Habits {
  const n = Math.max(1, ds.length);
  const rec = ds.filter((d) => d.audience !== 'none');
  return {
    evening: ds.filter((d) => d.hour >= 17 && d.hour <= 21).length / n,
    perWeek: ds.length / weeks,
    segment: rec.length ? rec.filter((d) => d.audience === 'segment').length / rec.length : 0,
    visual: rec.length
      ? rec.filter((d) => ['image', 'flex', 'video', 'imagemap'].includes(d.type)).length / rec.length
      : 0,
  };
}

function pooled(ds: readonly Delivery[], m: Measure): number | null {
  let x = 0;
  let n = 0;
  for (const d of ds) {
    const t = m(d);
    if (t) {
      x += t.x;
      n += t.n;
    }
  }
  return n ? x / n : null;
}

function growthOf(raw: Raw, tenantId: string, from: string, to: string): number | null {
  const days = raw.follows.get(tenantId);
  if (!days) return null;
  let net = 0;
  for (const [day, v] of days) if (day >= from && day <= to) net += v.follows - v.unfollows;
  return net;
}

export function peerRows(raw: Raw, municipalities: readonly Tenant[], from: string, to: string): PeerRow[] {
  const byTenant = new Map<string, Delivery[]>();
  for (const d of raw.deliveries) {
    const l = byTenant.get(d.tenantId);
    if (l) l.push(d);
    else byTenant.set(d.tenantId, [d]);
  }
  return municipalities.map((t) => {
    const ds = byTenant.get(t.id) ?? [];
    const values: PeerRow['values'] = {};
    if (ds.length >= MIN.perMunicipality) {
      const o = pooled(ds, opens);
      const c = pooled(ds, clicks);
      const b = pooled(ds, blocks);
      if (o !== null) values.openRate = o;
      if (c !== null) values.clickRate = c;
      if (b !== null) values.blocksPer1000 = b * 1000;
    }
    const f = raw.friends.get(t.id);
    if (t.population && f?.last !== null && f?.last !== undefined) values.friendsPerPopulation = f.last / t.population;
    const g = growthOf(raw, t.id, from, to);
    if (t.population && g !== null) values.growthPer1000 = (g / t.population) * 1000;
    return { tenantId: t.id, name: t.name, band: populationBand(t.population), deliveries: ds.length, values };
  });
}

const fmtPeer = (f: PeerFigure, v: number) => (PEER_FIGURES[f].unit === '%' ? pct(v) : `${v.toFixed(1)} 人`);

function peers(out: Out, rows: readonly PeerRow[], raw: Raw, weeks: number) {
  const byTenant = new Map<string, Delivery[]>();
  for (const d of raw.deliveries) {
    const l = byTenant.get(d.tenantId);
    if (l) l.push(d);
    else byTenant.set(d.tenantId, [d]);
  }
  for (const f of Object.keys(PEER_FIGURES) as PeerFigure[]) {
    const def = PEER_FIGURES[f];
    const title = def.higherIsBetter ? `${def.label}の上位 3 市町` : `${def.label}が少ない 3 市町`;
    const known = rows.filter((r) => r.values[f] !== undefined);
    if (known.length < MIN.municipalities) {
      out.skip(
        'peers',
        `peers.${f}`,
        title,
        `データが少ないため省略: 比べられる市町が ${known.length} しかありません (${MIN.municipalities} 市町以上が必要${f === 'openRate' || f === 'clickRate' || f === 'blocksPer1000' ? `、各市町の配信 ${MIN.perMunicipality} 件以上` : ''})`,
      );
      continue;
    }
    const sorted = [...known].sort((a, b) =>
      def.higherIsBetter ? b.values[f]! - a.values[f]! : a.values[f]! - b.values[f]!,
    );
    const top = sorted.slice(0, 3);
    const rest = sorted.slice(3);
    const med = median(rest.map((r) => r.values[f]!))!;
    const topH = habits(
      top.flatMap((r) => byTenant.get(r.tenantId) ?? []),
      weeks * top.length,
    );
    const restH = habits(
      rest.flatMap((r) => byTenant.get(r.tenantId) ?? []),
      weeks * Math.max(1, rest.length),
    );
    const third = top.at(-1)!.values[f]!;
    const margin = def.higherIsBetter ? third / Math.max(med, 1e-9) : med / Math.max(third, 1e-9);
    if (margin < MIN.peerMargin) {
      out.skip(
        'peers',
        `peers.${f}`,
        title,
        `はっきりした差なし: 上位 3 市町 (3 位 ${fmtPeer(f, third)}) とほかの ${rest.length} 市町の中央値 ${fmtPeer(f, med)} の差が小さい (${known.length} 市町)`,
      );
      continue;
    }
    const diffs: string[] = [];
    if (Math.abs(topH.evening - restH.evening) >= 0.1)
      diffs.push(`夕方・夜 (17〜21時) の配信が ${pct(topH.evening)} (ほかの市町 ${pct(restH.evening)})`);
    if (Math.abs(topH.perWeek - restH.perWeek) >= 0.3)
      diffs.push(`配信が週 ${topH.perWeek.toFixed(1)} 回 (同 ${restH.perWeek.toFixed(1)} 回)`);
    if (Math.abs(topH.segment - restH.segment) >= 0.1)
      diffs.push(`セグメント配信が ${pct(topH.segment)} (同 ${pct(restH.segment)})`);
    if (Math.abs(topH.visual - restH.visual) >= 0.1)
      diffs.push(`画像・Flex・動画の配信が ${pct(topH.visual)} (同 ${pct(restH.visual)})`);
    const names = top.map((r) => `${r.name} ${fmtPeer(f, r.values[f]!)}`).join('・');
    const text = `他の成功事例: ${title} (${names}) は、ほかの ${rest.length} 市町の中央値 ${fmtPeer(f, med)} より${def.higherIsBetter ? '高く' : '少なく'}なっています。${diffs.length ? `これらの市町は、${diffs.join('、')}でした。` : '配信の時間帯・頻度・内容の組み合わせには、ほかの市町と目立った違いはありません。'}`;
    out.add(
      {
        topic: 'peers',
        key: `peers.${f}`,
        title,
        text,
        sample: `${known.length} 市町 (${sampleOf(known.reduce((a, r) => a + r.deliveries, 0))})`,
        strength: Math.log(margin) * 0.5,
      },
      top.flatMap((r) => byTenant.get(r.tenantId) ?? []),
    );
  }
}

function growth(
  out: Out,
  raw: Raw,
  tenants: readonly Tenant[],
  scope: string,
  rows: readonly PeerRow[],
  focus: string | null,
) {
  const title = '人口に対する友だちの増加';
  const known = rows.filter((r) => r.values.growthPer1000 !== undefined);
  if (focus) {
    const me = known.find((r) => r.tenantId === focus);
    const others = known.filter((r) => r.tenantId !== focus).map((r) => r.values.growthPer1000!);
    if (!me || others.length < MIN.municipalities)
      out.skip(
        'growth',
        'growth.population',
        title,
        `データが少ないため省略: ${!me ? '人口か友だち追加の記録がありません' : `比べられる市町が ${others.length} しかありません`}`,
      );
    else {
      const med = median(others)!;
      out.add(
        {
          topic: 'growth',
          key: 'growth.population',
          title,
          text: `${scope}の期間中の友だち純増は人口 1,000 人あたり ${me.values.growthPer1000!.toFixed(1)} 人で、ほかの ${others.length} 市町の中央値 ${med.toFixed(1)} 人${me.values.growthPer1000! >= med ? 'を上回っています' : 'を下回っています'}。`,
          sample: `${others.length + 1} 市町`,
          strength: 0.1,
        },
        [],
      );
    }
  } else if (known.length < MIN.municipalities) {
    out.skip(
      'growth',
      'growth.population',
      title,
      `データが少ないため省略: 人口と友だち追加の記録がそろう市町が ${known.length} しかありません`,
    );
  } else {
    const s = [...known].sort((a, b) => b.values.growthPer1000! - a.values.growthPer1000!);
    const med = median(s.map((r) => r.values.growthPer1000!))!;
    out.add(
      {
        topic: 'growth',
        key: 'growth.population',
        title,
        text: `期間中の友だち純増は人口 1,000 人あたり中央値 ${med.toFixed(1)} 人 (${known.length} 市町) で、最も多いのは${s[0]!.name} (${s[0]!.values.growthPer1000!.toFixed(1)} 人)、最も少ないのは${s.at(-1)!.name} (${s.at(-1)!.values.growthPer1000!.toFixed(1)} 人) です。`,
        sample: `${known.length} 市町`,
        strength: 0.1,
      },
      [],
    );
  }
  // promotion events: new friends in the 14 days after against the 14 days before
  const ptitle = '周知・イベントの前後の友だち追加';
  const ids = new Set(tenants.map((t) => t.id));
  const events = raw.promotions.filter((p) => ids.has(p.tenantId));
  let before = 0;
  let after = 0;
  for (const e of events) {
    const days = raw.follows.get(e.tenantId);
    if (!days) continue;
    const d0 = Date.parse(`${e.day}T00:00:00Z`);
    for (let i = 1; i <= 14; i++)
      before += days.get(new Date(d0 - i * 86_400_000).toISOString().slice(0, 10))?.follows ?? 0;
    for (let i = 0; i < 14; i++)
      after += days.get(new Date(d0 + i * 86_400_000).toISOString().slice(0, 10))?.follows ?? 0;
  }
  const rr = rateRatio(after, 14 * events.length, before, 14 * events.length);
  if (events.length < MIN.promotions || !rr)
    out.skip(
      'growth',
      'growth.promotion',
      ptitle,
      `データが少ないため省略: 周知・イベントとして記録された議事録・課題が ${events.length} 件しかありません (${MIN.promotions} 件以上が必要。課題管理表の分類や議事録の件名に「周知」「チラシ」「イベント」などを含むもの)`,
    );
  else if (rr.low > 1 && rr.rate >= MIN.ratio)
    out.add(
      {
        topic: 'growth',
        key: 'growth.promotion',
        title: ptitle,
        text: `${scope}で記録された周知・イベント ${events.length} 件の後 14 日間の友だち追加は ${int(after)} 人で、前 14 日間の ${int(before)} 人の ${times(rr.rate)} (${ci(rr, (v) => v.toFixed(2))} 倍) でした。`,
        sample: `周知・イベント ${events.length} 件・友だち追加 ${int(after + before)} 人`,
        strength: Math.log(rr.rate),
      },
      [],
    );
  else
    out.skip(
      'growth',
      'growth.promotion',
      ptitle,
      `はっきりした差なし: 周知・イベント ${events.length} 件の前後 14 日間の友だち追加は ${int(before)} 人 → ${int(after)} 人`,
    );
}

export interface MileageInput {
  rows: Array<{
    tenantId: string;
    name: string;
    participants: number;
    reachedGoal: number;
    perThousand: number | null;
    hasProgramme: boolean;
  }>;
}

function mileage(out: Out, raw: Raw, ds: readonly Delivery[], m: MileageInput, scope: string, focus: string | null) {
  const rows = m.rows.filter((r) => r.hasProgramme && r.participants > 0);
  if (!rows.length && !raw.hasMileage) {
    out.skip('mileage', 'mileage.participation', '健康マイレージの参加', '健康マイレージの記録がありません');
    return;
  }
  const title = '健康マイレージの参加と目標達成';
  const known = rows.filter((r) => r.perThousand !== null);
  if (!focus && known.length >= 3) {
    const s = [...known].sort((a, b) => b.perThousand! - a.perThousand!);
    const reach = (r: (typeof rows)[number]) => r.reachedGoal / r.participants;
    const g = [...rows].sort((a, b) => reach(b) - reach(a));
    out.add(
      {
        topic: 'mileage',
        key: 'mileage.participation',
        title,
        text: `住民 1,000 人あたりの参加者は${s
          .slice(0, 3)
          .map((r) => `${r.name} ${r.perThousand!.toFixed(1)} 人`)
          .join('・')}が多く、目標達成率 (参加者のうち目標に達した人) は${g
          .slice(0, 3)
          .map((r) => `${r.name} ${pct(reach(r))}`)
          .join('・')}が高くなっています。`,
        sample: `${rows.length} 市町・参加者 ${int(rows.reduce((a, r) => a + r.participants, 0))} 人`,
        strength: 0.1,
      },
      [],
    );
  } else if (focus && rows.length) {
    const r = rows[0]!;
    out.add(
      {
        topic: 'mileage',
        key: 'mileage.participation',
        title,
        text: `${scope}の参加者は ${int(r.participants)} 人${r.perThousand !== null ? ` (住民 1,000 人あたり ${r.perThousand.toFixed(1)} 人)` : ''}、そのうち目標に達した人は ${int(r.reachedGoal)} 人 (${pct(r.reachedGoal / r.participants)}) です。`,
        sample: `参加者 ${int(r.participants)} 人`,
        strength: 0.05,
      },
      [],
    );
  } else
    out.skip(
      'mileage',
      'mileage.participation',
      title,
      `データが少ないため省略: 参加者のいる市町が ${rows.length} しかありません (3 市町以上が必要)`,
    );

  // which activities bring new participants
  const atitle = '新しい参加者を呼んだ活動';
  const byName = new Map<string, number>();
  for (const f of raw.mileageFirst) byName.set(f.name, (byName.get(f.name) ?? 0) + f.newcomers);
  const total = [...byName.values()].reduce((a, b) => a + b, 0);
  if (total < MIN.newcomers)
    out.skip(
      'mileage',
      'mileage.activities',
      atitle,
      `データが少ないため省略: 期間中の新しい参加者が ${total} 人しかいません (${MIN.newcomers} 人以上が必要)`,
    );
  else {
    const s = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 3);
    out.add(
      {
        topic: 'mileage',
        key: 'mileage.activities',
        title: atitle,
        text: `期間中に初めてポイントを得た ${int(total)} 人の最初の活動は、${s.map(([n, c]) => `「${n}」${int(c)} 人 (${pct(c / total)})`).join('、')}の順に多く、これらの活動が新しい参加者の入口になっています。`,
        sample: `新しい参加者 ${int(total)} 人`,
        strength: 0.2,
      },
      [],
    );
  }

  // deliveries and earning: awards in the 72 h after a delivery against the quiet hours' rate
  const etitle = '配信とポイント獲得';
  const mds = ds.filter((d) => raw.awardsAfter.has(d) && raw.quietAwards.get(d.tenantId));
  let a = 0;
  let qa = 0;
  let qh = 0;
  const tenants = new Set<string>();
  for (const d of mds) {
    a += raw.awardsAfter.get(d)!;
    tenants.add(d.tenantId);
  }
  for (const t of tenants) {
    qa += raw.quietAwards.get(t)!.events;
    qh += raw.quietAwards.get(t)!.hours;
  }
  const rr = mds.length >= MIN.group * 2 && qh > 0 ? rateRatio(a, mds.length * 72, qa, qh) : null;
  if (!rr || mds.length < MIN.deliveries)
    out.skip(
      'mileage',
      'mileage.deliveries',
      etitle,
      `データが少ないため省略: ポイントの記録がある市町の配信が ${mds.length} 件、配信のない時間帯の獲得が ${int(qa)} 回です (配信 ${MIN.deliveries} 件以上が必要)`,
    );
  else if (rr.low > 1 && rr.rate >= MIN.ratio)
    out.add(
      {
        topic: 'mileage',
        key: 'mileage.deliveries',
        title: etitle,
        text: `${scope}では、配信後 72 時間のポイント獲得は配信のない時期の ${times(rr.rate)} (${ci(rr, (v) => v.toFixed(2))} 倍) でした。配信がポイント獲得を促しています。`,
        sample: `${sampleOf(mds.length)}・獲得 ${int(a + qa)} 回`,
        strength: Math.log(rr.rate),
      },
      mds,
    );
  else
    out.skip(
      'mileage',
      'mileage.deliveries',
      etitle,
      `はっきりした差なし: 配信後 72 時間のポイント獲得は配信のない時期の ${rr.rate.toFixed(2)} 倍 (${sampleOf(mds.length)})`,
    );
}

// ------------------------------------------------------------------ all together

export interface ComputeInput {
  raw: Raw;
  /** Every municipality (peers compare them all). */
  municipalities: readonly Tenant[];
  /** null: prefecture-wide. */
  focus: Tenant | null;
  from: string;
  to: string;
  mileage: MileageInput;
  /** Whether other municipalities may be named (a municipality's own account sees only its position). */
  namedPeers: boolean;
}

export function computeFindings(i: ComputeInput): FindingsResult {
  const out = new Out();
  const focusId = i.focus?.id ?? null;
  const scope = i.focus ? i.focus.name : '県全体 (全市町の配信をまとめて)';
  const ids = focusId ? [focusId] : i.municipalities.map((t) => t.id);
  const idSet = new Set(ids);
  const ds = i.raw.deliveries.filter((d) => idSet.has(d.tenantId));
  const weeks = Math.max(1, (Date.parse(i.to) - Date.parse(i.from) + 86_400_000) / (7 * 86_400_000));
  timing(out, ds, scope);
  const freq = frequency(out, ds, i.raw, scope, ids);
  content(out, ds, i.raw, scope);
  const rows = peerRows(i.raw, i.municipalities, i.from, i.to);
  growth(out, i.raw, focusId ? [i.focus!] : i.municipalities, scope, rows, focusId);
  const position: FindingsResult['peerPosition'] = [];
  if (focusId) {
    const me = rows.find((r) => r.tenantId === focusId);
    for (const f of Object.keys(PEER_FIGURES) as PeerFigure[]) {
      const v = me?.values[f];
      const band = rows.filter((r) => r.band === me?.band && r.values[f] !== undefined);
      if (v === undefined || band.length < 3) continue;
      const def = PEER_FIGURES[f];
      const better = band.filter((r) => (def.higherIsBetter ? r.values[f]! > v : r.values[f]! < v)).length;
      position.push({
        figure: f,
        value: v,
        bandMedian: median(band.map((r) => r.values[f]!))!,
        rank: better + 1,
        of: band.length,
      });
    }
  }
  if (i.namedPeers) peers(out, rows, i.raw, weeks);
  else
    out.skip(
      'peers',
      'peers',
      '他の成功事例',
      'ほかの市町の名前と数値は県・受託者のアカウントで見られます (同じ人口規模の中での順位はグラフにあります)',
    );
  mileage(out, i.raw, ds, { rows: i.mileage.rows.filter((r) => idSet.has(r.tenantId)) }, scope, focusId);
  return {
    tenantId: focusId,
    scopeName: i.focus ? i.focus.name : '県全体',
    from: i.from,
    to: i.to,
    deliveries: ds.length,
    findings: out.findings,
    leftOut: out.leftOut,
    heatmap: heatmap(ds),
    frequency: freq,
    peers: i.namedPeers ? rows : rows.filter((r) => r.tenantId === focusId),
    peerPosition: position,
  };
}

/** The most notable findings first (the KPI report takes the first three). */
export function notable(r: FindingsResult, n: number): Finding[] {
  return [...r.findings].sort((a, b) => b.strength - a.strength).slice(0, n);
}
