/**
 * Residents' behaviour over simulated time for one channel. Time is cut into cells on a grid
 * (aligned to epoch multiples, never crossing an Asia/Tokyo midnight): hour cells for history,
 * second cells near real time. In each cell the numbers of
 * follows, blocks and unblocks are Poisson draws from the configured daily rates, spread uniformly
 * over the cell, merged with scheduled actions (fatigue blocks, clicks on postback actions …) and
 * applied in time order. Each applied action becomes a webhook event. At each midnight the day's
 * closing figures are kept for the Insight API.
 */
import type { ResidentsConfig } from '../world.ts';
import { DAY_MS, jstDay, jstDayStart } from './clock.ts';
import { EventFactory, type ResidentAction, type WebhookEvent } from './events.ts';
import { TimedHeap } from './heap.ts';
import { BLOCKING, FRIEND, NEVER, Population } from './population.ts';
import { hash2, hashString, Rng } from './prng.ts';

/** The cell used near real time. */
export const SMALL_CELL_MS = 1000;

/** The cell used for accelerated history (simulated time already past in real time). */
export const HISTORY_CELL_MS = 3_600_000;

export interface DaySnapshot {
  followers: number;
  blocks: number;
  targetedReaches: number;
}

interface Scheduled {
  t: number;
  seq: number;
  index: number;
  action: ResidentAction;
}

export interface ActionCounts {
  follows: number;
  unblocks: number;
  unfollows: number;
  postbacks: number;
  messages: number;
  videoPlayCompletes: number;
}

/** The longest a block burst lasts (world.ts allows 30 days). */
const MAX_BURST_MS = 30 * DAY_MS;

export class ChannelSim {
  private bursts: Array<{ at: number; hours: number; probability: number }> | undefined;
  private burstsDone = 0;
  readonly population: Population;
  readonly events: EventFactory;
  readonly startDay: number;
  /** Friends with known gender, age and area at the start. */
  readonly initialTargetable: number;
  /** Simulated time up to which behaviour has been applied (exclusive), epoch ms. */
  processedUpTo: number;
  private readonly rng: Rng;
  private readonly heap = new TimedHeap<Scheduled>();
  private heapSeq = 0;
  /** Closing figures of each day from the start day on (index: day − startDay). */
  private readonly days: DaySnapshot[] = [];
  /** Webhook-visible actions per day (index: day − startDay), for checks and reports. */
  readonly actionsPerDay: ActionCounts[] = [];

  constructor(
    channelId: string,
    private readonly cfg: ResidentsConfig,
    start: number,
    private readonly emit: (ev: WebhookEvent, index: number) => void,
  ) {
    this.population = new Population({
      channelId,
      seed: cfg.seed,
      count: cfg.count,
      initialFriendRatio: cfg.initialFriendRatio,
      start,
    });
    const key = this.population.key;
    this.rng = new Rng(hash2(key, 0xbe4a));
    this.events = new EventFactory(hash2(key, hashString('events')));
    this.processedUpTo = start;
    this.startDay = jstDay(start);
    this.initialTargetable = this.population.demographics.targetable;
  }

  /** The last day whose figures are final (the day before the one being simulated). */
  get lastClosedDay(): number {
    return jstDay(this.processedUpTo) - 1;
  }

  /** Closing figures of a day on or after the start day, if that day is over. */
  snapshot(day: number): DaySnapshot | undefined {
    return this.days[day - this.startDay];
  }

  actionsOn(day: number): ActionCounts | undefined {
    return this.actionsPerDay[day - this.startDay];
  }

  /** Schedules a resident's action at simulated time t (ms). Actions in the past run next cell. */
  schedule(t: number, index: number, action: ResidentAction): void {
    this.heap.push({ t: Math.max(Math.floor(t), this.processedUpTo), seq: ++this.heapSeq, index, action });
  }

  /**
   * Applies behaviour up to `target` (exclusive), cell by cell; stops early (returning false) once
   * `deadline()` says the time budget is spent, so a caller can yield to its event loop.
   *
   * Cells are an hour long where the whole cell lies before `historyUntil` (simulated time that
   * is already past in real time: accelerated history), and SMALL_CELL_MS otherwise, so that once
   * the clock runs at real time, webhooks go out within about a second of their timestamps. Both
   * grids are aligned to the epoch and divide a day; only whole cells are simulated.
   */
  advanceTo(target: number, deadline?: () => boolean, historyUntil = -Infinity): boolean {
    const big = HISTORY_CELL_MS;
    while (this.processedUpTo < target) {
      const t0 = this.processedUpTo;
      const size = t0 % big === 0 && t0 + big <= Math.min(historyUntil, target) ? big : SMALL_CELL_MS;
      const cellEnd = (Math.floor(t0 / size) + 1) * size;
      if (cellEnd > target) return true;
      this.runCell(t0, cellEnd);
      this.processedUpTo = cellEnd;
      if (cellEnd === jstDayStart(jstDay(cellEnd))) this.closeDay(jstDay(cellEnd) - 1);
      if (deadline?.()) return this.processedUpTo + SMALL_CELL_MS > target;
    }
    return true;
  }

  private closeDay(day: number): void {
    const p = this.population;
    this.days[day - this.startDay] = {
      followers: p.everFollowed,
      blocks: p.blocking,
      targetedReaches: p.demographics.targetable,
    };
    this.counts(day);
  }

  private counts(day: number): ActionCounts {
    const i = day - this.startDay;
    let c = this.actionsPerDay[i];
    if (!c) {
      for (let j = this.actionsPerDay.length; j <= i; j++) {
        this.actionsPerDay[j] = {
          follows: 0,
          unblocks: 0,
          unfollows: 0,
          postbacks: 0,
          messages: 0,
          videoPlayCompletes: 0,
        };
      }
      c = this.actionsPerDay[i]!;
    }
    return c;
  }

  private runCell(t0: number, t1: number): void {
    const p = this.population;
    const cfg = this.cfg;
    const rng = this.rng;
    const span = t1 - t0;
    const days = span / DAY_MS;
    const nFollow = rng.poisson(p.neverFriends * cfg.followRatePerDay * days);
    const nBlock = rng.poisson(p.friends * (cfg.blockRatePerDay * days + this.burstShare(t0, t1)));
    const nUnblock = rng.poisson(p.blocking * cfg.unblockRatePerDay * days);
    const total = nFollow + nBlock + nUnblock;
    // Random actions as (time, kind) pairs sorted by time; kinds: 0 follow, 1 block, 2 unblock.
    const times = new Float64Array(total);
    const kinds = new Uint8Array(total);
    for (let i = 0; i < total; i++) {
      times[i] = t0 + Math.floor(rng.next() * span);
      kinds[i] = i < nFollow ? 0 : i < nFollow + nBlock ? 1 : 2;
    }
    const order = Array.from({ length: total }, (_, i) => i).sort((a, b) => times[a]! - times[b]! || a - b);
    let k = 0;
    for (;;) {
      const next = this.heap.peek();
      const scheduledFirst = next !== undefined && next.t < t1 && (k >= total || next.t <= times[order[k]!]!);
      if (scheduledFirst) {
        this.heap.pop();
        this.applyScheduled(next);
        continue;
      }
      if (k >= total) break;
      const i = order[k++]!;
      const t = times[i]!;
      const kind = kinds[i]!;
      if (kind === 0) {
        if (p.neverFriends > 0) this.apply(p.randomNever(rng.next()), { type: 'follow', isUnblocked: false }, t);
      } else if (kind === 1) {
        if (p.friends > 0) this.apply(p.randomFriend(rng.next()), { type: 'unfollow' }, t);
      } else if (p.blocking > 0) {
        this.apply(p.randomBlocking(rng.next()), { type: 'follow', isUnblocked: true }, t);
      }
    }
  }

  /** The share of friends the block bursts (cfg.blockBursts) add to blocks between t0 and t1. */
  private burstShare(t0: number, t1: number): number {
    const bursts = (this.bursts ??= [...(this.cfg.blockBursts ?? [])].sort((a, b) => a.at - b.at));
    // cells only move forward: bursts over before t0 are skipped for good
    while (this.burstsDone < bursts.length && bursts[this.burstsDone]!.at + MAX_BURST_MS <= t0) this.burstsDone++;
    let share = 0;
    for (let i = this.burstsDone; i < bursts.length && bursts[i]!.at < t1; i++) {
      const b = bursts[i]!;
      const len = b.hours * 3_600_000;
      const overlap = Math.min(t1, b.at + len) - Math.max(t0, b.at);
      if (overlap > 0) share += (b.probability * overlap) / len;
    }
    return share;
  }

  private applyScheduled(s: Scheduled): void {
    const st = this.population.state[s.index];
    // Scheduled actions only happen if the resident is (still) a friend.
    if (st !== FRIEND) return;
    this.apply(s.index, s.action, s.t);
  }

  /** Applies one action (state change and webhook event); the event, or undefined when it did not apply. */
  apply(index: number, action: ResidentAction, t: number): WebhookEvent | undefined {
    const p = this.population;
    const c = this.counts(jstDay(t));
    switch (action.type) {
      case 'follow':
        if (action.isUnblocked) {
          if (p.state[index] !== BLOCKING) return undefined;
          p.unblock(index);
          c.unblocks++;
        } else {
          if (p.state[index] !== NEVER) return undefined;
          p.follow(index, t);
          c.follows++;
        }
        break;
      case 'unfollow':
        if (p.state[index] !== FRIEND) return undefined;
        p.block(index);
        c.unfollows++;
        break;
      case 'postback':
        c.postbacks++;
        break;
      case 'message':
        c.messages++;
        break;
      case 'videoPlayComplete':
        c.videoPlayCompletes++;
        break;
    }
    const ev = this.events.make(action, p.userId(index), t);
    this.emit(ev, index);
    return ev;
  }
}
