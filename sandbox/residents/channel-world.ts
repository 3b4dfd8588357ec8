/** One channel's simulated world: its residents, their behaviour, webhooks and Insight figures. */
import type {
  ChannelConfig,
  ChannelWorld,
  DeliveryNotice,
  FollowersInsight,
  Profile,
  ResidentActionRequest,
  ResidentActOutcome,
  ResidentDemographics,
  ResidentStatus,
} from '../world.ts';
import { ChannelSim } from './behaviour.ts';
import { jstDay, jstMonth, ymdToDay } from './clock.ts';
import { demographicInsight } from './demographic-insight.ts';
import { AGES, APP_TYPES, AREAS, GENDERS, PREFECTURES } from './demographics.ts';
import { Engagement, STATS_WINDOW_MS } from './engagement.ts';
import type { ResidentAction, WebhookEvent } from './events.ts';
import { followersInsight } from './followers-insight.ts';
import { aggregationUnitInsight, messageDeliveriesInsight, messageEventInsight } from './message-insight.ts';
import { BLOCKING, FRIEND, NEVER } from './population.ts';
import type { WebhookSender } from './webhook-sender.ts';

/** Reply tokens are usable once, within this much real time (LINE: about a minute). */
const REPLY_TOKEN_TTL_MS = 60_000;
const REPLY_TOKENS_KEPT = 10_000;
/** Follower id lists longer than this are held weakly (see cachedIds). */
const WEAKLY_HELD_IDS = 500_000;

export interface ChannelWorldDeps {
  now: () => number;
  realNow: () => number;
  start: number;
  sender?: WebhookSender;
  engagementChunk?: number;
  /** Also told about every webhook event (tests, logging). */
  onEvent?: (channelId: string, ev: WebhookEvent) => void;
}

function statusOf(state: number): ResidentStatus {
  return state === FRIEND ? 'friend' : state === BLOCKING ? 'blocking' : 'never';
}

export class SimChannelWorld implements ChannelWorld {
  readonly sim: ChannelSim;
  readonly engagement: Engagement;
  /**
   * Friends' indexes and ids as of a population version. Millions of id strings are held weakly
   * (`weak`): marking them would cost every full garbage collection of the process about as much
   * as the rest of its heap, so they live while someone uses them and are made again from `idx`
   * when they were collected; smaller lists are held as they are (`ids`).
   */
  private cachedIds:
    | { version: number; idx: Int32Array; ids?: readonly string[]; weak?: WeakRef<readonly string[]> }
    | undefined;
  private readonly replyTokens = new Map<string, number>();
  private readonly tokenRing: Array<string | undefined> = [];
  private readonly tokenUser = new Int32Array(REPLY_TOKENS_KEPT);
  private readonly tokenIssued = new Float64Array(REPLY_TOKENS_KEPT);
  private tokenPos = 0;
  /** Residents handed out by pickResidents (test hook), and where each status's scan stopped. */
  private readonly picked = new Set<number>();
  private readonly pickCursor = { friend: 0, never: 0 };

  constructor(
    readonly config: ChannelConfig,
    private readonly deps: ChannelWorldDeps,
  ) {
    this.sim = new ChannelSim(config.channelId, config.residents, deps.start, (ev, index) => this.emit(ev, index));
    this.engagement = new Engagement(this.sim, config.residents, { chunk: deps.engagementChunk });
  }

  get sender(): WebhookSender | undefined {
    return this.deps.sender;
  }

  private emit(ev: WebhookEvent, index: number): void {
    if (ev.replyToken) {
      // The most recent tokens, in a ring: slot → token, resident and issue time.
      const slot = this.tokenPos;
      const old = this.tokenRing[slot];
      if (old !== undefined) this.replyTokens.delete(old);
      this.tokenRing[slot] = ev.replyToken;
      this.tokenUser[slot] = index;
      this.tokenIssued[slot] = this.deps.realNow();
      this.replyTokens.set(ev.replyToken, slot);
      this.tokenPos = (slot + 1) % REPLY_TOKENS_KEPT;
    }
    this.deps.sender?.enqueue(ev);
    this.deps.onEvent?.(this.config.channelId, ev);
  }

  /**
   * Friends' ids in index order. The list is cached; after changes it is rebuilt by one pass over
   * the state array that reuses the strings of residents who were already listed.
   */
  followerIds(): readonly string[] {
    const p = this.sim.population;
    const cached = this.cachedIds;
    const held = cached && (cached.ids ?? cached.weak?.deref());
    if (cached?.version === p.version) {
      if (held) return held;
      // collected: the same ids again, from the indexes
      const ids: string[] = new Array(cached.idx.length);
      for (let k = 0; k < ids.length; k++) ids[k] = p.userId(cached.idx[k]!);
      this.holdIds(cached, ids);
      return ids;
    }
    const oldIdx = held ? cached!.idx : new Int32Array(0);
    const oldIds = held ?? [];
    const idx = new Int32Array(p.friends);
    const ids: string[] = new Array(p.friends);
    const st = p.state;
    let k = 0;
    let j = 0;
    for (let i = 0; i < p.count; i++) {
      if (st[i] !== FRIEND) continue;
      while (j < oldIdx.length && oldIdx[j]! < i) j++;
      idx[k] = i;
      ids[k++] = j < oldIdx.length && oldIdx[j] === i ? oldIds[j]! : p.userId(i);
    }
    this.cachedIds = { version: p.version, idx };
    this.holdIds(this.cachedIds, ids);
    return ids;
  }

  private holdIds(cache: NonNullable<SimChannelWorld['cachedIds']>, ids: readonly string[]): void {
    if (ids.length > WEAKLY_HELD_IDS) {
      cache.ids = undefined;
      cache.weak = new WeakRef(ids);
    } else {
      cache.ids = ids;
      cache.weak = undefined;
    }
  }

  /**
   * Builds the follower id list in slices between event-loop turns (for millions of residents),
   * so that the first followerIds() call only has to patch it. A list long enough to be held
   * weakly is not made ahead (it would not outlive the next full garbage collection).
   */
  async warmFollowerIds(sliceSize = 100_000): Promise<void> {
    const p = this.sim.population;
    if (this.cachedIds || p.friends > WEAKLY_HELD_IDS) return;
    const idx: number[] = [];
    const ids: string[] = [];
    const st = p.state;
    for (let from = 0; from < p.count; from += sliceSize) {
      const to = Math.min(p.count, from + sliceSize);
      for (let i = from; i < to; i++) {
        if (st[i] !== FRIEND) continue;
        idx.push(i);
        ids.push(p.userId(i));
      }
      await new Promise<void>((r) => setImmediate(r));
      if (this.cachedIds) return;
    }
    // Version -1: stale on purpose; the next call reuses these strings for whoever is still a friend.
    this.cachedIds = { version: -1, idx: Int32Array.from(idx), ids };
  }

  /**
   * Fast path for the HTTP layer: a user id's resident index is arithmetic (ids are reversible,
   * see ids.ts), so receipts and friendship checks need no hash table; −1 for a stranger.
   */
  residentIndex(userId: string): number {
    return this.sim.population.indexOf(userId);
  }

  residentIndexOfBytes(bytes: Uint8Array, offset: number): number {
    return this.sim.population.ids.indexOfBytes(bytes, offset);
  }

  isFriendAt(index: number): boolean {
    return this.sim.population.state[index] === FRIEND;
  }

  userIdAt(index: number): string {
    return this.sim.population.userId(index);
  }

  /**
   * The resident acts now (test hook). The simulation first catches up to the current day, so the
   * action lands in the right day's figures; it is applied at simulated now, like any resident's.
   */
  act(userId: string, request: ResidentActionRequest): ResidentActOutcome {
    const p = this.sim.population;
    const i = p.indexOf(userId);
    if (i < 0) return { ok: false, reason: 'unknown-resident' };
    const now = this.deps.now();
    if (jstDay(this.sim.processedUpTo) < jstDay(now)) this.sim.advanceTo(now);
    const before = statusOf(p.state[i]!);
    let action: ResidentAction;
    switch (request.type) {
      case 'follow':
        if (before === 'friend') return { ok: false, reason: 'already-friend', status: before };
        action = { type: 'follow', isUnblocked: before === 'blocking' };
        break;
      case 'unfollow':
        if (before !== 'friend') return { ok: false, reason: 'not-friend', status: before };
        action = { type: 'unfollow' };
        break;
      case 'message':
        if (before !== 'friend') return { ok: false, reason: 'not-friend', status: before };
        action = { type: 'message', text: request.text };
        break;
      case 'postback':
        if (before !== 'friend') return { ok: false, reason: 'not-friend', status: before };
        action = request.params
          ? { type: 'postback', data: request.data, params: request.params }
          : { type: 'postback', data: request.data };
        break;
    }
    const event = this.sim.apply(i, action, Math.max(now, this.sim.processedUpTo));
    if (!event) return { ok: false, reason: 'not-friend', status: before };
    return { ok: true, status: statusOf(p.state[i]!), event };
  }

  /** n residents with this status not picked before, scanning the population in index order. */
  pickResidents(status: 'friend' | 'never', n: number): string[] {
    const p = this.sim.population;
    const want = status === 'friend' ? FRIEND : NEVER;
    const out: string[] = [];
    // Residents change status over time: one more pass from the start finds those skipped earlier.
    for (let pass = 0; pass < 2 && out.length < n; pass++) {
      let i = this.pickCursor[status];
      for (; i < p.count && out.length < n; i++) {
        if (p.state[i] !== want || this.picked.has(i)) continue;
        this.picked.add(i);
        out.push(p.userId(i));
      }
      this.pickCursor[status] = i < p.count ? i : 0;
      if (i < p.count) break;
    }
    return out;
  }

  isFriend(userId: string): boolean {
    const p = this.sim.population;
    const i = p.indexOf(userId);
    return i >= 0 && p.state[i] === FRIEND;
  }

  profile(userId: string): Profile | undefined {
    const p = this.sim.population;
    const i = p.indexOf(userId);
    if (i < 0 || p.state[i] !== FRIEND) return undefined;
    return { userId, ...p.profileOf(i), language: 'ja' };
  }

  /**
   * Checks a reply token from a webhook event: returns the user it was issued for and marks it
   * used, or undefined when unknown, already used or expired (a minute of real time).
   */
  consumeReplyToken(token: string): string | undefined {
    const slot = this.replyTokens.get(token);
    if (slot === undefined) return undefined;
    this.replyTokens.delete(token);
    this.tokenRing[slot] = undefined;
    if (this.deps.realNow() - this.tokenIssued[slot]! > REPLY_TOKEN_TTL_MS) return undefined;
    return this.sim.population.userId(this.tokenUser[slot]!);
  }

  demographicsOf(userId: string): ResidentDemographics | undefined {
    const p = this.sim.population;
    const i = p.indexOf(userId);
    if (i < 0 || p.state[i] !== FRIEND) return undefined;
    const a = p.attributes(i);
    const age = AGES[a.age]!;
    const ageFrom = age === 'unknown' ? undefined : Number(/^from(\d+)/.exec(age)![1]);
    const known = a.area < PREFECTURES.length;
    return {
      gender: GENDERS[a.gender]!,
      age,
      ...(ageFrom === undefined ? {} : { ageFrom }),
      area: AREAS[a.area]!,
      ...(known ? { areaCode: `jp_${String(a.area + 1).padStart(2, '0')}` } : {}),
      appType: APP_TYPES[a.appType]!,
      friendDays: Math.max(0, Math.floor((this.deps.now() / 1000 - p.followedAt[i]!) / 86_400)),
    };
  }

  /** Freezes the statistics of messages whose 14-day window has closed (releasing their arrays). */
  sweep(): void {
    const now = this.deps.now();
    for (const r of this.engagement.byRequestId.values()) {
      if (!r.frozen && r.complete && now >= r.at + STATS_WINDOW_MS)
        messageEventInsight(this.engagement, r.requestId, now);
    }
  }

  recordDelivery(notice: DeliveryNotice): void {
    // The HTTP layer passes the indexes it resolved through residentIndex(); otherwise a
    // broadcast usually passes the very list followerIds() returned, whose indexes are known.
    let indexes = notice.recipientIndexes;
    if (!indexes || (notice.recipients.length > 0 && indexes.length !== notice.recipients.length)) {
      const cached = this.cachedIds;
      indexes = cached && notice.recipients === (cached.ids ?? cached.weak?.deref()) ? cached.idx : undefined;
    }
    this.engagement.record(notice, indexes);
  }

  followersInsight(date: string): FollowersInsight {
    const day = ymdToDay(date);
    if (day === undefined) return { status: 'out_of_service' };
    return followersInsight(this.sim, day, jstDay(this.deps.now()));
  }

  messageDeliveriesInsight(date: string): Record<string, unknown> {
    const day = ymdToDay(date);
    if (day === undefined) return { status: 'out_of_service' };
    this.engagement.drain();
    return messageDeliveriesInsight(this.engagement, day, jstDay(this.deps.now()), day <= this.sim.lastClosedDay);
  }

  demographicInsight(): Record<string, unknown> {
    return demographicInsight(this.sim.population, this.deps.now());
  }

  messageEventInsight(requestId: string): Record<string, unknown> | undefined {
    this.engagement.drain();
    return messageEventInsight(this.engagement, requestId, this.deps.now());
  }

  aggregationUnitInsight(unit: string, from: string, to: string): Record<string, unknown> {
    const f = ymdToDay(from);
    const t = ymdToDay(to);
    if (f === undefined || t === undefined)
      return {
        overview: {
          uniqueImpression: null,
          uniqueClick: null,
          uniqueMediaPlayed: null,
          uniqueMediaPlayed100Percent: null,
        },
        messages: [],
        clicks: [],
      };
    this.engagement.drain();
    return aggregationUnitInsight(this.engagement, unit, f, t, this.deps.now(), jstDay);
  }

  aggregationUnitsThisMonth(): readonly string[] {
    return [...(this.engagement.unitsByMonth.get(jstMonth(this.deps.now())) ?? [])];
  }
}
