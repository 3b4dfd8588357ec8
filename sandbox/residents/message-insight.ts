/**
 * Insight answers about messages, from the delivery records kept by `Engagement`:
 * - GET /v2/bot/insight/message/event (broadcast and narrowcast request ids),
 * - GET /v2/bot/insight/message/event/aggregation (push and multicast per custom aggregation unit),
 * - GET /v2/bot/insight/message/delivery (messages delivered per day and kind).
 * LINE's privacy rule: a count of interactions under 20, or one made by fewer than 20 users, is
 * null. Statistics stop changing 14 days after a message was sent. `delivered` is shown even
 * below 20.
 */
import { hash2 } from './prng.ts';
import { STATS_WINDOW_MS, type DeliveryCounts, type DeliveryRecord, type Engagement } from './engagement.ts';
import { SERVICE_START_DAY } from './followers-insight.ts';

export const PRIVACY_THRESHOLD = 20;

/** A unique-user count under the threshold is null. */
function u(n: number): number | null {
  return n < PRIVACY_THRESHOLD ? null : n;
}
/** An interaction count is null when it, or the number of users behind it, is under the threshold. */
function c(n: number, users: number): number | null {
  return n < PRIVACY_THRESHOLD || users < PRIVACY_THRESHOLD ? null : n;
}

/** Distinct resident indexes, as a growable bitset. */
class Uniq {
  private bits = new Uint32Array(1024);
  size = 0;
  add(i: number): void {
    const w = i >>> 5;
    if (w >= this.bits.length) {
      const b = new Uint32Array(Math.max(w + 1, this.bits.length * 2));
      b.set(this.bits);
      this.bits = b;
    }
    const m = 1 << (i & 31);
    if ((this.bits[w]! & m) === 0) {
      this.bits[w] = this.bits[w]! | m;
      this.size++;
    }
  }
}

const LEVEL_KEYS = [
  '',
  'mediaPlayed',
  'mediaPlayed25Percent',
  'mediaPlayed50Percent',
  'mediaPlayed75Percent',
  'mediaPlayed100Percent',
] as const;

interface BubbleAcc {
  impression: number;
  viewers: Uniq;
  /** Plays reaching each level (index 1..5) and the users behind them. */
  plays: number[];
  players: Uniq[];
}
interface ClickAcc {
  seq: number;
  url: string;
  click: number;
  users: Uniq;
}

/** Extra views, plays and clicks beyond the first, derived from a hash (no memory per resident). */
function extra(key: number, ordinal: number, salt: number): number {
  const h = hash2(hash2(key, ordinal), salt) % 100;
  return h < 8 ? 2 : h < 30 ? 1 : 0;
}

function accumulate(records: readonly DeliveryRecord[], now: number) {
  const openers = new Uniq();
  const urlClickers = new Uniq();
  const mediaPlayers = new Uniq();
  const media100 = new Uniq();
  const bubbles: BubbleAcc[] = [];
  const clicks: ClickAcc[] = [];
  const clickIndex = new Map<string, ClickAcc>();
  const byUrl = new Map<string, Uniq>();
  let anyMedia = false;
  const bubble = (b: number): BubbleAcc => {
    for (let k = bubbles.length; k <= b; k++) {
      bubbles.push({
        impression: 0,
        viewers: new Uniq(),
        plays: [0, 0, 0, 0, 0, 0],
        players: Array.from({ length: 6 }, () => new Uniq()),
      });
    }
    return bubbles[b]!;
  };
  for (const r of records) {
    for (let b = 0; b < r.messageCount; b++) bubble(b);
    if (r.hasMedia) anyMedia = true;
    // Every URL of the message is listed, in message order, clicked or not.
    for (const t of r.targets) {
      if (t.kind !== 'uri') continue;
      const id = `${t.seq}\u0000${t.url}`;
      if (!clickIndex.has(id)) {
        const acc = { seq: t.seq, url: t.url!, click: 0, users: new Uniq() };
        clickIndex.set(id, acc);
        clicks.push(acc);
      }
    }
    const horizon = Math.floor((Math.min(now, r.at + STATS_WINDOW_MS) - r.at) / 1000);
    if (horizon < 0) continue;
    const n = r.openers.length;
    for (let o = 0; o < n; o++) {
      if (r.openAt[o]! > horizon) continue;
      const i = r.openers[o]!;
      openers.add(i);
      const seen = r.seen[o]!;
      for (let b = 0; b < r.messageCount; b++) {
        if ((seen & (1 << b)) === 0) continue;
        const acc = bubbles[b]!;
        acc.impression += 1 + extra(r.key, o, b);
        acc.viewers.add(i);
        if (r.mediaLevel) {
          const level = r.mediaLevel[o * r.messageCount + b]!;
          if (level > 0) mediaPlayers.add(i);
          if (level === 5) media100.add(i);
          for (let l = 1; l <= level; l++) {
            acc.plays[l]! += 1 + (l === 1 ? extra(r.key, o, 100 + b) : 0);
            acc.players[l]!.add(i);
          }
        }
      }
    }
    for (let k = 0; k < r.clickOpener.length; k++) {
      if (r.clickAt[k]! > horizon) continue;
      const o = r.clickOpener[k]!;
      const i = r.openers[o]!;
      const t = r.targets[r.clickTarget[k]!]!;
      const id = `${t.seq}\u0000${t.url}`;
      let acc = clickIndex.get(id);
      if (!acc) {
        acc = { seq: t.seq, url: t.url!, click: 0, users: new Uniq() };
        clickIndex.set(id, acc);
        clicks.push(acc);
      }
      acc.click += 1 + extra(r.key, o, 200 + k);
      acc.users.add(i);
      urlClickers.add(i);
      let byu = byUrl.get(t.url!);
      if (!byu) byUrl.set(t.url!, (byu = new Uniq()));
      byu.add(i);
    }
  }
  return { openers, urlClickers, mediaPlayers, media100, bubbles, clicks, byUrl, anyMedia };
}

function mediaFields(acc: BubbleAcc, withUniqueImpression: boolean): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (withUniqueImpression) out.uniqueImpression = u(acc.viewers.size);
  for (let l = 1; l <= 5; l++) out[LEVEL_KEYS[l]!] = c(acc.plays[l]!, acc.players[l]!.size);
  for (let l = 1; l <= 5; l++) {
    const k = LEVEL_KEYS[l]!;
    out[`unique${k[0]!.toUpperCase()}${k.slice(1)}`] = u(acc.players[l]!.size);
  }
  return out;
}

function body(records: readonly DeliveryRecord[], now: number, perUnit: boolean) {
  const a = accumulate(records, now);
  const overview: Record<string, number | null> = {
    uniqueImpression: u(a.openers.size),
    uniqueClick: u(a.urlClickers.size),
    uniqueMediaPlayed: a.anyMedia ? u(a.mediaPlayers.size) : null,
    uniqueMediaPlayed100Percent: a.anyMedia ? u(a.media100.size) : null,
  };
  const messages = a.bubbles.map((b, k) => ({
    seq: k + 1,
    impression: c(b.impression, b.viewers.size),
    ...mediaFields(b, perUnit),
  }));
  const clicks = a.clicks.map((k) => ({
    seq: k.seq,
    url: k.url,
    click: c(k.click, k.users.size),
    uniqueClick: u(k.users.size),
    uniqueClickOfRequest: u(a.byUrl.get(k.url)?.size ?? 0),
  }));
  return { overview, messages, clicks };
}

/** GetMessageEventResponse for a broadcast or narrowcast request id; undefined when unknown. */
export function messageEventInsight(
  eng: Engagement,
  requestId: string,
  now: number,
): Record<string, unknown> | undefined {
  const r = eng.byRequestId.get(requestId);
  if (!r) return undefined;
  if (r.frozen) return r.frozen;
  const { overview, messages, clicks } = body([r], now, false);
  const res = {
    overview: {
      requestId: r.requestId,
      timestamp: Math.floor(r.at / 1000),
      // LINE: null until every message has been sent.
      delivered: r.complete ? r.delivered : null,
      ...overview,
    },
    messages,
    clicks,
  };
  if (r.complete && now >= r.at + STATS_WINDOW_MS) {
    // Final: keep the answer, release the per-recipient arrays.
    r.frozen = res;
    r.openers = new Int32Array(0);
    r.openAt = new Uint32Array(0);
    r.seen = new Uint8Array(0);
    r.mediaLevel = null;
    r.clickOpener = new Int32Array(0);
    r.clickTarget = new Uint16Array(0);
    r.clickAt = new Uint32Array(0);
  }
  return res;
}

/** GetStatisticsPerUnitResponse for push and multicast messages of a unit sent from `fromDay` to `toDay`. */
export function aggregationUnitInsight(
  eng: Engagement,
  unit: string,
  fromDay: number,
  toDay: number,
  now: number,
  dayOf: (ms: number) => number,
): Record<string, unknown> {
  const records = (eng.byUnit.get(unit) ?? []).filter((r) => {
    const d = dayOf(r.at);
    return d >= fromDay && d <= toDay;
  });
  return body(records, now, true);
}

/** GetNumberOfMessageDeliveriesResponse: messages delivered (one per recipient) that day. */
export function messageDeliveriesInsight(
  eng: Engagement,
  day: number,
  today: number,
  closed: boolean,
): Record<string, unknown> {
  if (day < SERVICE_START_DAY) return { status: 'out_of_service' };
  if (day >= today || !closed) return { status: 'unready' };
  const d: DeliveryCounts = eng.deliveriesPerDay.get(day) ?? {
    push: 0,
    multicast: 0,
    broadcast: 0,
    narrowcast: 0,
    reply: 0,
  };
  return {
    status: 'ready',
    // Sends from LINE Official Account Manager (broadcast, targeting, auto/greeting responses,
    // chat) never happen in the sandbox; the API's own sends have their own fields.
    broadcast: 0,
    targeting: 0,
    autoResponse: 0,
    welcomeResponse: 0,
    chat: 0,
    apiBroadcast: d.broadcast,
    apiPush: d.push,
    apiMulticast: d.multicast,
    apiNarrowcast: d.narrowcast,
    apiReply: d.reply,
  };
}
