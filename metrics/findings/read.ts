/** Reads what the findings are made of: a handful of aggregate queries over the period (sql/queries/findings.sql). */
import { query } from '../../core/clickhouse.ts';
import { z } from '../../core/zod.ts';
import { figure, int64, type MetricsReader } from '../reader.ts';

const deliveryRow = z.object({
  tenant_id: z.string(),
  key: z.string(),
  sent_ms: int64,
  hour: z.coerce.number(),
  weekday: z.coerce.number(),
  delivered: figure,
  unique_impression: figure,
  unique_click: figure,
  accepted: figure,
  delivery_id: z.string(),
  title: z.string(),
  types: z.array(z.string()),
  text_length: int64,
  links: int64,
  audience: z.string(),
});

/** A delivery as the findings see it. */
export interface Delivery {
  tenantId: string;
  key: string;
  /** delivery's record id ('' for a delivery made outside Tayori). */
  deliveryId: string;
  title: string;
  sentMs: number;
  /** Tokyo hour 0–23 and weekday 1 (Monday) – 7 (Sunday) of sending. */
  hour: number;
  weekday: number;
  recipients: number | null;
  opens: number | null;
  clicks: number | null;
  /** The main message type: flex, video, image, text (or another of LINE's), '' without a record. */
  type: string;
  bubbles: number;
  textLength: number;
  hasLink: boolean | null;
  audience: 'all' | 'segment' | 'none';
  /** Root interest categories a segment targets (ids). */
  interests: string[];
  /** Blocks on its day and the two after (about 72 h; each counted for the latest delivery before it). */
  blocks72: number;
  /** The tenant's deliveries in the 7 days up to this one (itself included). */
  perWeek: number;
}

const TYPE_ORDER = ['flex', 'video', 'image', 'imagemap', 'template', 'text', 'sticker'];

function mainType(types: readonly string[]): string {
  for (const t of TYPE_ORDER) if (types.includes(t)) return t;
  return types[0] ?? '';
}

/** Root category ids of every `interests` leaf of a segment condition (JSON as delivery stores it). */
export function targetedInterests(audienceJson: string): string[] {
  let a: unknown;
  try {
    a = JSON.parse(audienceJson);
  } catch {
    return [];
  }
  const out = new Set<string>();
  const walk = (c: unknown, negated: boolean) => {
    if (!c || typeof c !== 'object') return;
    const o = c as Record<string, unknown>;
    if (Array.isArray(o.and)) for (const x of o.and) walk(x, negated);
    if (Array.isArray(o.or)) for (const x of o.or) walk(x, negated);
    if (o.not) walk(o.not, !negated);
    if (o.attr === 'interests' && !negated && Array.isArray(o.values))
      for (const v of o.values) if (typeof v === 'string' && v) out.add(v.split('/')[0]!);
  };
  walk((a as { condition?: unknown } | null)?.condition, false);
  return [...out];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const TOKYO_MS = 9 * HOUR_MS;

/** Buckets of time: hours (mileage awards), or Tokyo days (blocks, from the daily rollup). */
export interface Buckets {
  size: number;
  /** the bucket a time falls in (its start) */
  floor(ms: number): number;
  /** buckets a delivery's window spans, its own included */
  window: number;
}
export const HOURS: Buckets = { size: HOUR_MS, floor: (ms) => Math.floor(ms / HOUR_MS) * HOUR_MS, window: 72 };
/** The day of sending and the two after it: about 72 hours. */
export const TOKYO_DAYS: Buckets = {
  size: DAY_MS,
  floor: (ms) => Math.floor((ms + TOKYO_MS) / DAY_MS) * DAY_MS - TOKYO_MS,
  window: 3,
};

export interface Period {
  /** Tokyo days, inclusive. */
  from: string;
  to: string;
}

const tokyoMs = (day: string) => Date.parse(`${day}T00:00:00+09:00`);
const dt = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export function periodParams(tenants: readonly string[], p: Period) {
  return { tenants, from: dt(tokyoMs(p.from)), to: dt(tokyoMs(p.to) + 86_400_000) };
}

export interface Hourly {
  /** tenant → hour start (ms) → count */
  byTenant: Map<string, Map<number, number>>;
}

async function hourly(
  reader: MetricsReader,
  name: string,
  params: Record<string, unknown>,
  col: string,
): Promise<Map<string, Map<number, number>>> {
  const rows = await query(
    reader.ch,
    name,
    params,
    z.object({ tenant_id: z.string(), hour_s: int64, [col]: int64 }) as z.ZodType<Record<string, unknown>>,
  );
  const out = new Map<string, Map<number, number>>();
  for (const r of rows) {
    const m = out.get(r.tenant_id as string) ?? new Map<number, number>();
    m.set((r.hour_s as number) * 1000, r[col] as number);
    out.set(r.tenant_id as string, m);
  }
  return out;
}

/** Per tenant: events in the 72 h after each delivery (to the latest delivery before them) and the hours outside. */
export function attribute(
  ds: readonly Delivery[],
  events: Map<string, Map<number, number>>,
  periodEndMs: number,
  periodStartMs: number,
  b: Buckets = HOURS,
): { after: Map<Delivery, number>; quiet: Map<string, { events: number; hours: number }> } {
  const after = new Map<Delivery, number>();
  const quiet = new Map<string, { events: number; hours: number }>();
  const byTenant = new Map<string, Delivery[]>();
  for (const d of ds) {
    const l = byTenant.get(d.tenantId);
    if (l) l.push(d);
    else byTenant.set(d.tenantId, [d]);
  }
  for (const [tenant, list] of byTenant) {
    list.sort((a, b) => a.sentMs - b.sentMs);
    for (const d of list) after.set(d, 0);
    const ev = events.get(tenant) ?? new Map<number, number>();
    // every hour of the period: inside some delivery's window, or quiet
    let i = -1;
    let q = 0;
    let qh = 0;
    const start = b.floor(periodStartMs);
    for (let h = start; h < periodEndMs; h += b.size) {
      while (i + 1 < list.length && b.floor(list[i + 1]!.sentMs) <= h) i++;
      const d = i >= 0 ? list[i]! : undefined;
      const n = ev.get(h) ?? 0;
      if (d && h < b.floor(d.sentMs) + b.window * b.size) after.set(d, after.get(d)! + n);
      else {
        q += n;
        qh++;
      }
    }
    quiet.set(tenant, { events: q, hours: qh });
  }
  return { after, quiet };
}

export interface Raw {
  deliveries: Delivery[];
  /** Per tenant: blocks in hours not within 72 h of a delivery, and how many such hours. */
  quietBlocks: Map<string, { events: number; hours: number }>;
  follows: Map<string, Map<string, { follows: number; unfollows: number }>>;
  friends: Map<string, { first: number | null; last: number | null; firstDay: string; lastDay: string }>;
  promotions: Array<{ tenantId: string; day: string; label: string }>;
  categories: Map<string, string>;
  mileageFirst: Array<{ tenantId: string; activityId: string; name: string; newcomers: number }>;
  /** Awards in 72 h after each delivery and the tenant's quiet-hour awards. */
  awardsAfter: Map<Delivery, number>;
  quietAwards: Map<string, { events: number; hours: number }>;
  hasMileage: boolean;
}

/** Words in an issue's 分類 or a meeting's title / agenda that mark a promotion event. */
export const PROMOTION_PATTERN = '周知|広報|PR|プロモーション|チラシ|ポスター|イベント|キャンペーン|まつり|祭';

export async function readRaw(reader: MetricsReader, tenants: readonly string[], p: Period): Promise<Raw> {
  const params = periodParams(tenants, p);
  const startMs = tokyoMs(p.from);
  const endMs = tokyoMs(p.to) + 86_400_000;
  const present = await reader.present();
  const [rows, follows, friends, promotions, categories, first, awards] = await Promise.all([
    present.has('deliveries') ? query(reader.ch, 'findings.deliveries', params, deliveryRow) : Promise.resolve([]),
    query(
      reader.ch,
      'findings.follows_daily',
      params,
      z.object({ tenant_id: z.string(), day_iso: z.string(), follows: int64, unfollows: int64 }),
    ),
    query(
      reader.ch,
      'findings.friends_span',
      params,
      z.object({
        tenant_id: z.string(),
        first_day: z.string(),
        first_friends: figure,
        last_day: z.string(),
        last_friends: figure,
      }),
    ),
    query(
      reader.ch,
      'findings.promotions',
      { ...params, pattern: PROMOTION_PATTERN },
      z.object({ tenant_id: z.string(), day_iso: z.string(), label: z.string() }),
    ),
    present.has('delivery_categories')
      ? query(
          reader.ch,
          'findings.categories',
          params,
          z.object({ tenant_id: z.string(), category_id: z.string(), name: z.string() }),
        )
      : Promise.resolve([]),
    query(
      reader.ch,
      'findings.mileage_first_activity',
      params,
      z.object({ tenant_id: z.string(), activity_id: z.string(), name: z.string(), newcomers: int64 }),
    ),
    hourly(reader, 'findings.mileage_hourly', params, 'awards'),
  ]);

  const deliveries: Delivery[] = rows.map((r) => {
    const audienceType = r.delivery_id ? (r.audience.includes('"segment"') ? 'segment' : 'all') : 'none';
    return {
      tenantId: r.tenant_id,
      key: r.key,
      deliveryId: r.delivery_id,
      title: r.title || r.key,
      sentMs: r.sent_ms,
      hour: r.hour,
      weekday: r.weekday,
      recipients: r.delivered ?? r.accepted,
      opens: r.unique_impression,
      clicks: r.unique_click,
      type: mainType(r.types),
      bubbles: r.types.length,
      textLength: r.text_length,
      hasLink: r.delivery_id ? r.links > 0 : null,
      audience: audienceType,
      interests: audienceType === 'segment' ? targetedInterests(r.audience) : [],
      blocks72: 0,
      perWeek: 1,
    };
  });
  // messages per week as the sender's habit: its deliveries in the 7 days up to each one
  const byTenant = new Map<string, Delivery[]>();
  for (const d of deliveries) {
    const l = byTenant.get(d.tenantId);
    if (l) l.push(d);
    else byTenant.set(d.tenantId, [d]);
  }
  for (const list of byTenant.values()) {
    let lo = 0;
    for (let i = 0; i < list.length; i++) {
      while (list[i]!.sentMs - list[lo]!.sentMs >= 7 * 86_400_000) lo++;
      list[i]!.perWeek = i - lo + 1;
    }
  }
  // blocks per Tokyo day from the webhook rollup (reading each block event would scan every event)
  const blocks = new Map<string, Map<number, number>>();
  for (const r of follows) {
    const m = blocks.get(r.tenant_id) ?? new Map<number, number>();
    m.set(Date.parse(`${r.day_iso}T00:00:00+09:00`), r.unfollows);
    blocks.set(r.tenant_id, m);
  }
  const b = attribute(deliveries, blocks, endMs, startMs, TOKYO_DAYS);
  for (const [d, n] of b.after) d.blocks72 = n;
  const a = attribute(deliveries, awards, endMs, startMs);

  const fol = new Map<string, Map<string, { follows: number; unfollows: number }>>();
  for (const r of follows) {
    const m = fol.get(r.tenant_id) ?? new Map();
    m.set(r.day_iso, { follows: r.follows, unfollows: r.unfollows });
    fol.set(r.tenant_id, m);
  }
  return {
    deliveries,
    quietBlocks: b.quiet,
    follows: fol,
    friends: new Map(
      friends.map((r) => [
        r.tenant_id,
        { first: r.first_friends, last: r.last_friends, firstDay: r.first_day, lastDay: r.last_day },
      ]),
    ),
    promotions: promotions.map((r) => ({ tenantId: r.tenant_id, day: r.day_iso, label: r.label })),
    categories: new Map(categories.map((r) => [`${r.tenant_id}\u0000${r.category_id}`, r.name])),
    mileageFirst: first.map((r) => ({
      tenantId: r.tenant_id,
      activityId: r.activity_id,
      name: r.name || '(名前のない活動)',
      newcomers: r.newcomers,
    })),
    awardsAfter: a.after,
    quietAwards: a.quiet,
    hasMileage: awards.size > 0 || first.length > 0,
  };
}
