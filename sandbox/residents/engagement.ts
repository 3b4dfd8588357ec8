/**
 * What recipients do with a delivered message: open it (with `openProbability`, spread over the
 * following hours and days), look at its bubbles, play its media, click one of its actions (with
 * `clickProbability` once opened), and — when messaged more than `fatigueThresholdPerWeek` times in
 * 7 days — block the account with `fatigueBlockProbability` per excess delivery. Clicks on postback
 * and message actions and blocks become scheduled resident actions (hence webhooks); URL clicks,
 * impressions and media plays are kept per delivery for the Insight API.
 */
import type { DeliveryKind, DeliveryNotice, ResidentsConfig } from '../world.ts';
import type { ChannelSim } from './behaviour.ts';
import { DAY_MS, HOUR_MS, jstDay } from './clock.ts';
import { hash2, hashString, Rng, UniformStream } from './prng.ts';
import { TOKYO_OFFSET_MS } from '../../core/time.ts';

/** LINE stops updating a message's statistics 14 days after it was sent. */
export const STATS_WINDOW_MS = 14 * DAY_MS;

export type TargetKind = 'uri' | 'postback' | 'message';
export interface Target {
  /** 1-based index of the message object (bubble) holding the action. */
  seq: number;
  kind: TargetKind;
  url?: string;
  data?: string;
  params?: Record<string, string>;
  text?: string;
}

export interface Bubble {
  media: 'video' | 'audio' | null;
  trackingId?: string;
}

/** Finds clickable actions and media in message objects (any depth: templates, flex, quick replies). */
export function analyseMessages(messages: readonly unknown[], count: number): { targets: Target[]; bubbles: Bubble[] } {
  const targets: Target[] = [];
  const bubbles: Bubble[] = [];
  for (let i = 0; i < count; i++) {
    const m = messages[i] as Record<string, unknown> | undefined;
    const seq = i + 1;
    const type = m && typeof m === 'object' ? m.type : undefined;
    bubbles.push({
      media: type === 'video' ? 'video' : type === 'audio' ? 'audio' : null,
      ...(type === 'video' && typeof m?.trackingId === 'string' ? { trackingId: m.trackingId } : {}),
    });
    if (type === 'text' && typeof m?.text === 'string') {
      for (const u of m.text.match(/https?:\/\/[^\s"'<>）」』、。]+/g) ?? [])
        targets.push({ seq, kind: 'uri', url: u });
    }
    walk(m, (o) => {
      if (o.type === 'uri' && (typeof o.uri === 'string' || typeof o.linkUri === 'string')) {
        targets.push({ seq, kind: 'uri', url: (o.uri ?? o.linkUri) as string });
      } else if (o.type === 'postback' && typeof o.data === 'string') {
        targets.push({ seq, kind: 'postback', data: o.data });
      } else if (o.type === 'datetimepicker' && typeof o.data === 'string') {
        const mode = o.mode === 'date' || o.mode === 'time' ? o.mode : 'datetime';
        targets.push({ seq, kind: 'postback', data: o.data, params: { [mode]: pickerValue(mode) } });
      } else if (o.type === 'message' && typeof o.text === 'string' && o !== m) {
        targets.push({ seq, kind: 'message', text: o.text });
      }
    });
  }
  return { targets, bubbles };
}

/**
 * analyseMessages, once per frozen messages array: the sandbox's multicast fast path hands every
 * request of a fan-out the same frozen body (see fast-multicast.ts), so its actions are found once.
 */
const analysedFrozen = new WeakMap<readonly unknown[], Map<number, { targets: Target[]; bubbles: Bubble[] }>>();
function analysed(messages: readonly unknown[], count: number): { targets: Target[]; bubbles: Bubble[] } {
  if (!Object.isFrozen(messages)) return analyseMessages(messages, count);
  let byCount = analysedFrozen.get(messages);
  if (!byCount) analysedFrozen.set(messages, (byCount = new Map()));
  let hit = byCount.get(count);
  if (!hit) byCount.set(count, (hit = analyseMessages(messages, count)));
  return hit;
}

function pickerValue(mode: string): string {
  return mode === 'date' ? '2025-04-01' : mode === 'time' ? '10:00' : '2025-04-01T10:00';
}

function walk(v: unknown, f: (o: Record<string, unknown>) => void, depth = 0): void {
  if (depth > 12 || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (const x of v) walk(x, f, depth + 1);
    return;
  }
  const o = v as Record<string, unknown>;
  f(o);
  for (const k of Object.keys(o)) walk(o[k], f, depth + 1);
}

/** One accepted delivery and its recipients' interactions (times in seconds after `at`). */
/** Shared empty arrays: a record's initial values (never written; one allocation, not eight per send). */
const NO_I32 = new Int32Array(0);
const NO_U32 = new Uint32Array(0);
const NO_U16 = new Uint16Array(0);
const NO_U8 = new Uint8Array(0);

export class DeliveryRecord {
  readonly key: number;
  delivered = 0;
  /** All recipients processed. */
  complete = false;
  openers: Int32Array = NO_I32;
  openAt: Uint32Array = NO_U32;
  /** Bit k set: bubble k+1 was displayed. */
  seen: Uint8Array = NO_U8;
  /** Per opener and bubble: 0 not played, 1 started, 2 ≥25 %, 3 ≥50 %, 4 ≥75 %, 5 100 %. */
  mediaLevel: Uint8Array | null = null;
  /** URL clicks: opener ordinal, index into targets, seconds after `at`. */
  clickOpener: Int32Array = NO_I32;
  clickTarget: Uint16Array = NO_U16;
  clickAt: Uint32Array = NO_U32;
  /** Final Insight answer once the statistics window has closed (arrays are then released). */
  frozen: Record<string, unknown> | undefined;

  constructor(
    readonly requestId: string,
    readonly kind: DeliveryKind,
    readonly at: number,
    readonly messageCount: number,
    readonly units: readonly string[],
    readonly targets: readonly Target[],
    readonly bubbles: readonly Bubble[],
    channelKey: number,
  ) {
    this.key = hash2(channelKey, hashString(requestId));
  }

  get hasMedia(): boolean {
    return this.bubbles.some((b) => b.media !== null);
  }
}

/** Growable typed-array builder; allocates on the first push (most click lists stay empty). */
class IntList {
  private a: Int32Array = NO_I32;
  length = 0;
  constructor(private readonly cap = 64) {}
  push(v: number): void {
    if (this.length === this.a.length) {
      const b = new Int32Array(Math.max(this.cap, this.a.length * 2));
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = v;
  }
  toInt32(): Int32Array {
    return this.a.slice(0, this.length);
  }
  toUint32(): Uint32Array {
    return new Uint32Array(this.a.buffer.slice(0, this.length * 4));
  }
}

/** Per-day counts of delivered messages by kind (for GET /v2/bot/insight/message/delivery). */
export type DeliveryCounts = Record<DeliveryKind, number>;

export interface EngagementOptions {
  /** Recipients processed per slice before yielding to the event loop. */
  chunk?: number;
  /**
   * While sends keep coming (another within this many ms), their recipients are simulated once
   * they stop, so that the simulation does not take the CPU a fast fan-out's requests need (a
   * fan-out's own pauses — a garbage collection, an audience page read — last up to a few hundred
   * ms). Default 500.
   */
  quietMs?: number;
  /** Recipients waiting to be simulated at most; beyond it they are simulated as they come. Default 5,000,000. */
  maxBacklog?: number;
}

/** A delivery being processed: its recipients' interactions so far. */
interface Job {
  notice: DeliveryNotice;
  indexes: Int32Array | undefined;
  record: DeliveryRecord;
  /** Recipients in all, and the next one to process. */
  count: number;
  next: number;
  /** Made when the first slice is simulated (a job may wait a while; it holds no buffer meanwhile). */
  draws: UniformStream | undefined;
  openers: IntList;
  openAt: IntList;
  seen: number[];
  media: number[];
  clicks: [IntList, IntList, IntList];
}

export class Engagement {
  /** Records of broadcast and narrowcast requests (message event Insight). */
  readonly byRequestId = new Map<string, DeliveryRecord>();
  /** Records of push and multicast requests per custom aggregation unit. */
  readonly byUnit = new Map<string, DeliveryRecord[]>();
  /** Units used per Asia/Tokyo month (yyyyMM). */
  readonly unitsByMonth = new Map<string, Set<string>>();
  readonly deliveriesPerDay = new Map<number, DeliveryCounts>();
  private fatigueCounts: Uint8Array | null = null;
  private fatigueDay: Int32Array | null = null;
  private readonly queue: Job[] = [];
  private working = false;
  private idleWaiters: Array<() => void> = [];
  private readonly chunk: number;
  private readonly quietMs: number;
  private readonly maxBacklog: number;
  /** When the last send was recorded (performance.now()), and recipients waiting to be simulated. */
  private lastRecordAt = -Infinity;
  private backlog = 0;
  private quietTimer: NodeJS.Timeout | undefined;
  /** Someone waits for the queue (idle()): work through it without waiting for quiet. */
  private urgent = false;

  constructor(
    private readonly sim: ChannelSim,
    private readonly cfg: ResidentsConfig,
    opts: EngagementOptions = {},
  ) {
    this.chunk = opts.chunk ?? 25_000;
    this.quietMs = opts.quietMs ?? 500;
    this.maxBacklog = opts.maxBacklog ?? 5_000_000;
  }

  /**
   * `indexes`, when given, are the residents' indexes of `notice.recipients`, in order; then
   * `notice.recipients` may be empty (the API layer did not make the IDs).
   */
  record(notice: DeliveryNotice, indexes?: Int32Array): void {
    const p = this.sim.population;
    const messageCount = Math.max(1, Math.min(5, notice.messageCount | 0));
    const { targets, bubbles } = analysed(notice.messages ?? [], messageCount);
    const units = [...new Set(notice.customAggregationUnits ?? [])];
    const record = new DeliveryRecord(
      notice.requestId,
      notice.kind,
      notice.at,
      messageCount,
      units,
      targets,
      bubbles,
      p.key,
    );
    const day = jstDay(notice.at);
    let dc = this.deliveriesPerDay.get(day);
    if (!dc) {
      dc = { push: 0, multicast: 0, broadcast: 0, narrowcast: 0, reply: 0 };
      this.deliveriesPerDay.set(day, dc);
    }
    const count = indexes ? indexes.length : notice.recipients.length;
    dc[notice.kind] += count;
    if (notice.kind === 'broadcast' || notice.kind === 'narrowcast') this.byRequestId.set(notice.requestId, record);
    if ((notice.kind === 'push' || notice.kind === 'multicast') && units.length > 0) {
      const month = monthOf(notice.at);
      let set = this.unitsByMonth.get(month);
      if (!set) this.unitsByMonth.set(month, (set = new Set()));
      for (const u of units) {
        set.add(u);
        let list = this.byUnit.get(u);
        if (!list) this.byUnit.set(u, (list = []));
        list.push(record);
      }
    }
    // Room for the expected openers at once (growing by doubling would copy them several times).
    const openersCap = Math.max(16, Math.min(count, Math.ceil(count * this.cfg.openProbability * 1.1) + 16));
    this.queue.push({
      notice,
      indexes,
      record,
      count,
      next: 0,
      draws: undefined,
      openers: new IntList(openersCap),
      openAt: new IntList(openersCap),
      seen: [],
      media: [],
      clicks: [new IntList(16), new IntList(16), new IntList(16)],
    });
    this.backlog += count;
    const now = performance.now();
    const streaming = now - this.lastRecordAt < this.quietMs;
    this.lastRecordAt = now;
    // A lone small delivery is simulated at once; a big one in slices between event-loop turns; a
    // stream of sends (a fan-out's batches) once it stops, unless too many recipients wait.
    if (this.backlog > this.maxBacklog) this.work(true, count);
    else if (this.working) return;
    else if (!streaming && count <= this.chunk && this.queue.length === 1) this.work(true);
    else if (streaming) this.waitForQuiet();
    else this.schedule();
  }

  /** Simulates everything recorded so far, now (before Insight figures are read). */
  drain(): void {
    if (this.queue.length > 0) this.work(true, Infinity);
  }

  private waitForQuiet(): void {
    if (this.quietTimer || this.working) return;
    const wait = Math.max(1, Math.ceil(this.lastRecordAt + this.quietMs - performance.now()));
    this.quietTimer = setTimeout(() => {
      this.quietTimer = undefined;
      if (!this.urgent && performance.now() - this.lastRecordAt < this.quietMs) this.waitForQuiet();
      else this.schedule();
    }, wait);
    this.quietTimer.unref?.();
  }

  private schedule(): void {
    if (this.working) return;
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    this.working = true;
    setImmediate(() => {
      this.working = false;
      this.work(false);
    });
  }

  private work(inline: boolean, budget = this.chunk): void {
    while (this.queue.length > 0 && budget > 0) {
      const job = this.queue[0]!;
      const n = Math.min(budget, job.count - job.next);
      this.processSlice(job, n);
      budget -= n;
      this.backlog -= n;
      if (job.next >= job.count) {
        this.finish(job);
        this.queue.shift();
      }
    }
    if (this.queue.length > 0) {
      if (inline) {
        if (!this.working) this.waitForQuiet();
      } else if (!this.urgent && performance.now() - this.lastRecordAt < this.quietMs) this.waitForQuiet();
      else this.schedule();
    } else {
      this.urgent = false;
      if (!inline || this.idleWaiters.length > 0) this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when every recorded delivery has been processed. */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    this.urgent = true;
    const waiting = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.schedule();
    return waiting;
  }

  /**
   * Each recipient's fate, drawn from the delivery's own stream: the fatigue count (and maybe a
   * block), whether and when it opens, which bubbles it sees, media plays and one click. The loop
   * is the hot path of every send (500 recipients per multicast), so it reads uniform draws from
   * a buffer and leaves rare branches to other methods.
   */
  private processSlice(job: Job, n: number): void {
    const { notice, record } = job;
    // About three draws per recipient; a small delivery needs no big buffer.
    const draws = (job.draws ??= new UniformStream(new Rng(record.key), Math.min(256, 16 + 4 * job.count)));
    const p = this.sim.population;
    const cfg = this.cfg;
    const day = jstDay(notice.at);
    const fatigue = notice.kind !== 'reply';
    const blockP = cfg.fatigueBlockProbability;
    const openP = cfg.openProbability;
    const clickP = cfg.clickProbability;
    const messageCount = record.messageCount;
    const hasMedia = record.hasMedia;
    const hasTargets = record.targets.length > 0;
    const indexes = job.indexes;
    if (fatigue) this.fatigueArrays();
    for (let r = job.next, end = job.next + n; r < end; r++) {
      const i = indexes ? indexes[r]! : p.indexOf(notice.recipients[r]!);
      if (i < 0) continue;
      record.delivered++;
      if (fatigue && this.fatigued(i, day) && blockP > 0 && draws.next() < blockP) {
        this.sim.schedule(notice.at + Math.floor(-Math.log(1 - draws.next()) * (12 * HOUR_MS)), i, {
          type: 'unfollow',
        });
      }
      if (!(openP > 0 && draws.next() < openP)) continue;
      // Most open within the hour, others later in the day or in the following days.
      const delayMs =
        draws.next() < 0.6 ? -Math.log(1 - draws.next()) * HOUR_MS : -Math.log(1 - draws.next()) * (20 * HOUR_MS);
      if (delayMs >= STATS_WINDOW_MS) continue;
      const ordinal = job.openers.length;
      job.openers.push(i);
      job.openAt.push(Math.floor(delayMs / 1000));
      let seen = 1;
      for (let b = 1; b < messageCount; b++) if (draws.next() < 0.9) seen |= 1 << b;
      job.seen.push(seen);
      if (hasMedia) this.playMedia(job, i, seen, delayMs);
      if (hasTargets && clickP > 0 && draws.next() < clickP) this.click(job, i, ordinal, seen, delayMs);
    }
    job.next += n;
  }

  private playMedia(job: Job, i: number, seen: number, delayMs: number): void {
    const { record, notice } = job;
    const draws = job.draws!;
    for (let b = 0; b < record.messageCount; b++) {
      let level = 0;
      const bubble = record.bubbles[b]!;
      if (bubble.media && seen & (1 << b) && draws.next() < 0.55) {
        level = 1;
        while (level < 5 && draws.next() < (level === 1 ? 0.85 : 0.75)) level++;
        if (level === 5 && bubble.trackingId) {
          this.sim.schedule(notice.at + delayMs + 60_000, i, {
            type: 'videoPlayComplete',
            trackingId: bubble.trackingId,
          });
        }
      }
      job.media.push(level);
    }
  }

  /** One action, among those in bubbles the resident saw. */
  private click(job: Job, i: number, ordinal: number, seen: number, delayMs: number): void {
    const { record, notice } = job;
    const draws = job.draws!;
    const targets = record.targets;
    let visible = 0;
    for (let t = 0; t < targets.length; t++) if (seen & (1 << (targets[t]!.seq - 1))) visible++;
    if (visible === 0) return;
    let pick = Math.floor(draws.next() * visible);
    let t = 0;
    for (; ; t++) if (seen & (1 << (targets[t]!.seq - 1)) && pick-- === 0) break;
    const target = targets[t]!;
    const clickMs = delayMs + -Math.log(1 - draws.next()) * (3 * 60_000);
    if (target.kind === 'uri') {
      if (clickMs < STATS_WINDOW_MS) {
        job.clicks[0].push(ordinal);
        job.clicks[1].push(t);
        job.clicks[2].push(Math.floor(clickMs / 1000));
      }
    } else if (target.kind === 'postback') {
      this.sim.schedule(notice.at + clickMs, i, {
        type: 'postback',
        data: target.data!,
        ...(target.params ? { params: target.params } : {}),
      });
    } else {
      this.sim.schedule(notice.at + clickMs, i, { type: 'message', text: target.text! });
    }
  }

  private fatigueArrays(): void {
    if (this.fatigueCounts) return;
    const n = this.sim.population.count;
    this.fatigueCounts = new Uint8Array(n * 7);
    this.fatigueDay = new Int32Array(n).fill(-1_000_000);
  }

  /** Counts a delivery to resident i on `day`; true when it exceeds the weekly threshold. */
  private fatigued(i: number, day: number): boolean {
    const c = this.fatigueCounts!;
    const last = this.fatigueDay![i]!;
    const base = i * 7;
    if (day > last) {
      if (day - last >= 7) c.fill(0, base, base + 7);
      else for (let d = last + 1; d <= day; d++) c[base + (d % 7)] = 0;
      this.fatigueDay![i] = day;
    }
    const slot = base + (((day % 7) + 7) % 7);
    if (c[slot]! < 255) c[slot]!++;
    let week = 0;
    for (let k = 0; k < 7; k++) week += c[base + k]!;
    return week > this.cfg.fatigueThresholdPerWeek;
  }

  private finish(job: Job): void {
    const r = job.record;
    r.complete = true;
    const keep = r.kind === 'broadcast' || r.kind === 'narrowcast' || r.units.length > 0;
    if (!keep) return;
    r.openers = job.openers.toInt32();
    r.openAt = job.openAt.toUint32();
    r.seen = Uint8Array.from(job.seen);
    r.mediaLevel = r.hasMedia ? Uint8Array.from(job.media) : null;
    r.clickOpener = job.clicks[0].toInt32();
    r.clickTarget = Uint16Array.from(job.clicks[1].toInt32());
    r.clickAt = job.clicks[2].toUint32();
  }
}

function monthOf(ms: number): string {
  const d = new Date(ms + TOKYO_OFFSET_MS);
  const m = d.getUTCMonth() + 1;
  return `${d.getUTCFullYear()}${m < 10 ? '0' : ''}${m}`;
}
