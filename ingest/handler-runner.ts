import type { Logger } from '../core/logger.ts';
import type { EventLog, LogEntry, LogPosition } from './event-log.ts';
import type { EventHandlerRegistry, HandlerRun } from './event-handlers.ts';

export const HANDLERS = 'handle';

export interface HandlerRunnerOptions {
  /** Log entries being handled at once at most. */
  window?: number;
  /** A failed run is retried (backoff from retryMs up to maxRetryMs) for this long, then given up. */
  retryForMs?: number;
  retryMs?: number;
  maxRetryMs?: number;
  /** How often the position is written while entries are done (ms). */
  commitEveryMs?: number;
}

interface Slot {
  entry: LogEntry;
  done: boolean;
}

/**
 * Runs the event handlers from the log, once entries are durable: up to `window` entries at once
 * (so one slow reply does not hold the others back), the position moving over the done prefix.
 * A crash re-runs what was not yet committed (at-least-once); failed runs are retried with backoff.
 */
export class HandlerRunner {
  readonly #o: Required<HandlerRunnerOptions>;
  /** Taken entries in log order; the done prefix is committed. */
  #slots: Slot[] = [];
  #taken: number;
  #running = 0;
  #stopped = false;
  #commitTimer: NodeJS.Timeout | undefined;
  #committing: Promise<void> = Promise.resolve();
  #retryTimers = new Set<NodeJS.Timeout>();
  #idle: Array<() => void> = [];
  /** Figures for /readyz and the bench. */
  readonly stats = { entries: 0, failures: 0, givenUp: 0, lags: [] as number[] };

  constructor(
    private readonly log: EventLog,
    private readonly handlers: EventHandlerRegistry,
    private readonly logger: Logger,
    opts: HandlerRunnerOptions = {},
  ) {
    this.#o = { window: 1024, retryForMs: 120_000, retryMs: 200, maxRetryMs: 5_000, commitEveryMs: 50, ...opts };
    this.#taken = log.position(HANDLERS).seq;
    log.onAppend(() => this.#pump());
  }

  start(): void {
    this.#pump();
  }

  #pump(): void {
    if (this.#stopped) return;
    const room = this.#o.window - this.#slots.length;
    if (room <= 0) return;
    for (const entry of this.log.read(this.#taken, room)) {
      this.#taken = entry.seq;
      const slot: Slot = { entry, done: false };
      this.#slots.push(slot);
      const r = entry.record;
      const runs = r.kind === 'webhook' ? this.handlers.runsFor(r.tenantId, r.events) : [];
      if (runs.length === 0) slot.done = true;
      else this.#attempt(slot, runs, Date.now(), this.#o.retryMs);
    }
    this.#settle();
  }

  #attempt(slot: Slot, runs: HandlerRun[], firstAt: number, wait: number): void {
    this.#running++;
    this.handlers
      .run(runs)
      .then((failed) => {
        if (failed.length === 0) return this.#finish(slot);
        this.stats.failures += failed.length;
        if (this.#stopped) return; // run again at the next start
        if (Date.now() - firstAt + wait > this.#o.retryForMs) {
          this.stats.givenUp += failed.length;
          this.logger.error(
            { seq: slot.entry.seq, runs: failed.length },
            'event handlers still failing after retries; giving up on them',
          );
          return this.#finish(slot);
        }
        const t = setTimeout(() => {
          this.#retryTimers.delete(t);
          if (!this.#stopped) this.#attempt(slot, failed, firstAt, Math.min(this.#o.maxRetryMs, wait * 2));
        }, wait);
        this.#retryTimers.add(t);
      })
      .catch((err: unknown) => this.logger.error({ err }, 'event handler runner failed'))
      .finally(() => {
        this.#running--;
        if (this.#running === 0) for (const fn of this.#idle.splice(0)) fn();
      });
  }

  #finish(slot: Slot): void {
    slot.done = true;
    this.stats.entries++;
    const lag = Date.now() - slot.entry.at;
    const l = this.stats.lags;
    if (l.length < 100_000) l.push(lag);
    else l[Math.floor(Math.random() * l.length)] = lag;
    this.#settle();
  }

  /** Drops the done prefix and schedules a position write; takes more entries. */
  #settle(): void {
    let n = 0;
    while (n < this.#slots.length && this.#slots[n]!.done) n++;
    if (n > 0) {
      const last = this.#slots[n - 1]!.entry;
      this.#slots.splice(0, n);
      this.#pendingCommit = { seq: last.seq, end: last.end, events: last.events };
      this.#commitTimer ??= setTimeout(() => this.#commit(), this.#o.commitEveryMs);
      if (!this.#stopped) queueMicrotask(() => this.#pump());
    }
  }

  #pendingCommit: LogPosition | undefined;

  #commit(): Promise<void> {
    this.#commitTimer = undefined;
    const to = this.#pendingCommit;
    this.#pendingCommit = undefined;
    if (!to) return this.#committing;
    this.#committing = this.#committing
      .then(() => this.log.commit(HANDLERS, to))
      .catch((err: unknown) => this.logger.warn({ err }, 'event handler position not written (runs again later)'));
    return this.#committing;
  }

  /** Takes nothing more, waits for the runs in progress (not for retries) and writes the position. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#retryTimers) clearTimeout(t);
    this.#retryTimers.clear();
    if (this.#running > 0) await new Promise<void>((r) => this.#idle.push(r));
    clearTimeout(this.#commitTimer);
    await this.#commit();
  }

  /** Resolves once every durable entry so far is handled (for tests and the bench). */
  async drained(): Promise<void> {
    const head = this.log.head();
    while (this.log.position(HANDLERS).seq < head && !this.#stopped) {
      await new Promise((r) => setTimeout(r, 20));
      if (!this.#commitTimer && this.#pendingCommit) await this.#commit();
    }
  }
}
