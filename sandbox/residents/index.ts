/**
 * The sandbox's simulated world (see ../world.ts for the contract with the HTTP layer).
 *
 * `createWorld(config, opts)` builds every channel's residents at once, deterministically for the
 * seed (typed arrays; 2,000,000 residents take ~30 MB and well under a second). `start()` runs
 * behaviour along the simulated clock on a real-time ticker; tests can leave it stopped and move
 * time explicitly:
 *
 *   const world = createWorld(config, { now: () => fakeRealNow });
 *   await world.advanceBy(86_400_000);   // one simulated day: follows, blocks, webhooks …
 *   await world.settle();                // deliveries processed, webhooks sent or given up on
 *
 * Decisions worth knowing (details in each module):
 * - Clock: simulated time runs `speed`× while behind real time, then at real time; `advanceBy`
 *   adds to it. Behaviour is simulated in whole cells: hour cells for history (simulated time
 *   already past in real time), one-second cells near real time. Same seed + same sequence of
 *   steps (and deliveries) → the same events.
 * - followers Insight: `followers` counts first-time friend additions (never decreases), `blocks`
 *   residents blocking at the end of the day (an unblock decreases it), `targetedReaches` friends
 *   whose gender, age and area are all known. So per day: Δfollowers = follow events with
 *   isUnblocked false; Δblocks = unfollow events − follow events with isUnblocked true. Today and
 *   later → unready; before 2016-11-01 → out_of_service; the account is taken to have existed for
 *   365 days before the start day, its initial friends having followed then (no webhooks).
 * - Message statistics: per-recipient opens (with openProbability, mostly within the hour, some
 *   over days), bubble impressions, media plays, clicks (clickProbability once opened) on one
 *   action; URL clicks count in Insight, postback/message/datetimepicker actions become webhook
 *   events, videos with a trackingId played to the end become videoPlayComplete events. Counts
 *   under 20, or from fewer than 20 users, are null; nothing changes 14 days after sending.
 * - Fatigue: a resident sent more than fatigueThresholdPerWeek messages (replies excluded) within 7
 *   Asia/Tokyo days blocks, with fatigueBlockProbability per excess delivery, some hours later.
 * - Test hooks: `act(userId, action)` makes a resident message, postback, follow or unfollow now
 *   (the simulation first catches up to the current day, so the action counts in the right day's
 *   figures) through the same path as simulated actions; `pickResidents` hands out residents by
 *   status, each once. The HTTP layer exposes both under /__sandbox/ (see api/test-hooks.ts).
 * - Webhooks: batches of up to 100 events, signed, bounded concurrency, redelivered with
 *   isRedelivery true and exponential backoff when redelivery is on; a channel's simulation
 *   pauses while more than `webhook.highWater` of its events wait for a first attempt.
 */
import { performance } from 'node:perf_hooks';
import { sandboxConfigSchema, type ChannelWorld, type SandboxConfig, type World } from '../world.ts';
import { SimChannelWorld } from './channel-world.ts';
import { HOUR_MS, jstDay, SimClock } from './clock.ts';
import type { WebhookEvent } from './events.ts';
import { Semaphore, WebhookSender, type WebhookSenderOptions, type WebhookStats } from './webhook-sender.ts';

export { SimChannelWorld } from './channel-world.ts';
export { SimClock, jstDay, dayToYmd, ymdToDay, DAY_MS, HOUR_MS } from './clock.ts';
export { signBody } from './signature.ts';
export { PRIVACY_THRESHOLD } from './message-insight.ts';
export { STATS_WINDOW_MS, analyseMessages } from './engagement.ts';
export type { WebhookEvent } from './events.ts';
export type { WebhookSenderOptions, WebhookStats } from './webhook-sender.ts';

export interface CreateWorldOptions {
  /** fetch used to send webhooks (default: global fetch). */
  fetch?: typeof fetch;
  /** The real clock, epoch ms (tests pass a fake one so only `advanceBy` moves time). */
  now?: () => number;
  /** Real ms between simulation ticks once started. Default 50. */
  tickMs?: number;
  /** Real ms of simulation work per slice before yielding to the event loop. Default 15. */
  sliceMs?: number;
  /** Webhook sending (batch size, timeouts, redelivery backoff, backlog bound). */
  webhook?: WebhookSenderOptions & {
    /** Requests in flight over all channels. Default 32. */
    concurrency?: number;
    /** Events waiting for a first attempt above which a channel's simulation pauses. Default 5000. */
    highWater?: number;
  };
  /** Recipients of one delivery processed per slice. Default 25000. */
  engagementChunk?: number;
  /** Called with every webhook event the residents cause (whether or not a webhook URL is set). */
  onEvent?: (channelId: string, ev: WebhookEvent) => void;
}

export class SandboxWorld implements World {
  readonly clock: SimClock;
  private readonly list: SimChannelWorld[];
  private readonly byId = new Map<string, SimChannelWorld>();
  private readonly byToken = new Map<string, SimChannelWorld>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Whether the run in flight goes to simulated now exactly (not only to its last whole hour). */
  private runningExact = false;
  private halted = false;
  private readonly sliceMs: number;
  private readonly tickMs: number;
  private readonly highWater: number;
  private lastSweepDay = -1;
  private nextFirst = 0;
  private readonly realNow: () => number;

  constructor(input: SandboxConfig, opts: CreateWorldOptions = {}) {
    const config = sandboxConfigSchema.parse(input);
    const realNow = opts.now ?? Date.now;
    this.realNow = realNow;
    const start = config.clock.start ? Date.parse(config.clock.start) : undefined;
    this.clock = new SimClock({ start, speed: config.clock.speed, realNow });
    this.tickMs = opts.tickMs ?? 50;
    this.sliceMs = opts.sliceMs ?? 15;
    this.highWater = opts.webhook?.highWater ?? 5_000;
    const fetchFn = opts.fetch ?? fetch;
    const shared = new Semaphore(opts.webhook?.concurrency ?? 32);
    this.list = config.channels.map((ch) => {
      const sender = ch.webhookUrl
        ? // Timeouts and backoff are about the receiver's real behaviour: always the real clock.
          new WebhookSender(ch.webhookUrl, ch.channelSecret, ch.botUserId, ch.redelivery, fetchFn, shared, opts.webhook)
        : undefined;
      const w = new SimChannelWorld(ch, {
        now: () => this.clock.now(),
        realNow,
        start: this.clock.startedAt,
        sender,
        engagementChunk: opts.engagementChunk,
        onEvent: opts.onEvent,
      });
      if (this.byId.has(ch.channelId)) throw new Error(`duplicate channelId ${ch.channelId}`);
      this.byId.set(ch.channelId, w);
      this.byToken.set(ch.channelAccessToken, w);
      return w;
    });
  }

  now(): number {
    return this.clock.now();
  }

  channels(): readonly SimChannelWorld[] {
    return this.list;
  }

  byChannelId(channelId: string): SimChannelWorld | undefined {
    return this.byId.get(channelId);
  }

  byAccessToken(token: string): SimChannelWorld | undefined {
    return this.byToken.get(token);
  }

  start(): void {
    if (this.timer) return;
    this.halted = false;
    this.timer = setInterval(() => void this.run(false), this.tickMs);
    this.timer.unref?.();
    for (const w of this.list) void w.warmFollowerIds();
  }

  /**
   * Applies residents' behaviour up to simulated now, in slices that yield to the event loop.
   * Concurrent calls share one run.
   */
  catchUp(): Promise<void> {
    return this.run(true);
  }

  /**
   * One run up to simulated now. The ticker's runs (`exact` false) stop at the last whole hour while
   * the clock fast-forwards through history: its target moves `speed` × 50 ms a tick (100 minutes by
   * default), and simulating the part hour one-second cell by one-second cell (the grid near real
   * time) took a core in the demo, for behaviour an hour cell gives the same way a moment later.
   * Callers that need behaviour up to now (advanceBy, settle) wait for such a run, then run exactly.
   */
  private run(exact: boolean): Promise<void> {
    if (this.running && (this.runningExact || !exact)) return this.running;
    if (this.running) return this.running.then(() => this.run(true));
    const run = this.runUntilNow(exact).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    this.runningExact = exact;
    return run;
  }

  private async runUntilNow(exact: boolean): Promise<void> {
    for (;;) {
      // While catching up at high speed, simulated now can run ahead of the simulation for long:
      // stop() must not wait for it.
      if (this.halted) return;
      const now = this.clock.now();
      const history = this.realNow();
      const target = exact || now + HOUR_MS > history ? now : Math.floor(now / HOUR_MS) * HOUR_MS;
      let done = true;
      let held = false;
      const until = performance.now() + this.sliceMs;
      const deadline = () => performance.now() >= until;
      // Start with a different channel each slice, so none starves behind a big one.
      const n = this.list.length;
      const first = this.nextFirst++ % n;
      for (let k = 0; k < n; k++) {
        const w = this.list[(first + k) % n]!;
        const sender = w.sender;
        // Back-pressure: a channel whose receiver lags waits (its days stay unready meanwhile)
        // instead of piling up events beyond the backlog bound.
        if (sender && sender.waiting >= this.highWater) {
          done = false;
          held = true;
          continue;
        }
        if (deadline()) {
          done = false;
          break;
        }
        const stop = sender ? () => deadline() || sender.waiting >= this.highWater : deadline;
        if (!w.sim.advanceTo(target, stop, history)) done = false;
      }
      const day = jstDay(target);
      if (day !== this.lastSweepDay) {
        this.lastSweepDay = day;
        for (const w of this.list) w.sweep();
      }
      if (done) return;
      if (held) await new Promise<void>((r) => setTimeout(r, 5));
      else await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * Moves simulated time forward by `ms` and applies everything that happens meanwhile. Pending
   * deliveries are processed first, so their opens, clicks and fatigue blocks fall in place.
   */
  async advanceBy(ms: number): Promise<void> {
    await Promise.all(this.list.map((w) => w.engagement.idle()));
    if (this.running) await this.running;
    this.clock.advanceBy(ms);
    await this.catchUp();
  }

  /** Waits until deliveries are processed, behaviour is up to now and webhooks are sent or given up on. */
  async settle(): Promise<void> {
    await Promise.all(this.list.map((w) => w.engagement.idle()));
    await this.catchUp();
    await Promise.all(this.list.map((w) => w.sender?.idle()));
  }

  webhookStats(channelId: string): WebhookStats | undefined {
    return this.byId.get(channelId)?.sender?.stats;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.halted = true;
    if (this.running) await this.running;
    await Promise.all(this.list.map((w) => w.sender?.stop()));
  }
}

export function createWorld(config: SandboxConfig, opts?: CreateWorldOptions): SandboxWorld {
  return new SandboxWorld(config, opts);
}

export type { ChannelWorld, World };
