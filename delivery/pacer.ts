/**
 * Pacing of one channel's multicast requests in this process. The channel's schedule lives in
 * Redis (one virtual send time shared by every worker process, see DeliveryRedis.reserve); this
 * pacer reserves slots from it in small blocks (about 40 ms worth at a time, only as many as
 * requests are waiting) and releases waiting requests locally at their slot times, so a fast
 * channel costs a Redis round trip per block rather than per request. After a 429 the reserved
 * slots are dropped, so the next requests take the channel's paused schedule.
 *
 * A semaphore bounds the requests in flight per channel (LINE answering slowly never opens
 * sockets without end).
 */
import type { DeliveryRedis } from './redis-state.ts';

/** How late a reserved slot may still be used (see #pump). */
const LATE_TOLERANCE_MS = 25;
/** How early a slot's request may leave: the ones due within it go together (one timer, not one each). */
const RELEASE_EARLY_MS = 1;

export class ChannelPacer {
  readonly #waiters: Array<() => void> = [];
  /** Reserved slot times (performance.now() ms), ascending. */
  #slots: number[] = [];
  #reserving = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  /** Bumped when reserved slots are dropped (a reservation in flight then no longer counts). */
  #epoch = 0;
  #stopped = false;

  constructor(
    private readonly state: DeliveryRedis,
    readonly channel: string,
    /** Current rate in requests/s (may change between reservations). */
    private readonly rate: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Resolves at this request's send slot. */
  acquire(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      this.#pump();
    });
  }

  /** Drops the reserved slots (after a 429: the channel's schedule moved). */
  reset(): void {
    this.#slots = [];
    this.#epoch++;
    this.#pump();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    // waiters go on (and find the fan-out stopping)
    for (const w of this.#waiters.splice(0)) w();
  }

  #pump(): void {
    if (this.#stopped) {
      for (const w of this.#waiters.splice(0)) w();
      return;
    }
    const now = performance.now();
    // Slots long past are gone, waiters or not: after a stall (a busy event loop, a GC pause) the
    // requests must not go out in a burst that LINE's one-second window would count against the
    // limit. Lateness up to LATE_TOLERANCE_MS is caught up: then any second holds at most the slots
    // of 1,025 ms, 2.5% over the schedule, well inside the headroom (5% by default). Dropping
    // everything over 4 ms lost a quarter of the slots at 2,000/s on a busy 2-core machine; the
    // 429 streaks once seen with 20 ms came from requests that waited for a connection after their
    // slot (the fan-out now takes the connection first).
    const tolerance = Math.max(LATE_TOLERANCE_MS, 2000 / Math.max(0.001, this.rate()));
    while (this.#slots.length > 0 && this.#slots[0]! < now - (this.#waiters.length === 0 ? 1 : tolerance))
      this.#slots.shift();
    while (this.#slots.length > 0 && this.#waiters.length > 0 && this.#slots[0]! <= now + RELEASE_EARLY_MS) {
      this.#slots.shift();
      this.#waiters.shift()!();
    }
    // Slots are reserved a block ahead at most, whatever the queue: after a 429 the slots reserved
    // are dropped, and the channel's schedule should not have run far ahead of them.
    const missing = this.#waiters.length - this.#slots.length;
    if (missing > 0 && this.#slots.length < this.#block() && !this.#reserving) void this.#reserve(missing);
    if (this.#waiters.length > 0 && this.#slots.length > 0) this.#wakeAt(this.#slots[0]!);
  }

  async #reserve(missing: number): Promise<void> {
    this.#reserving = true;
    const epoch = this.#epoch;
    try {
      const intervalUs = 1e6 / Math.max(0.001, this.rate());
      const block = Math.min(missing, this.#block());
      const t0 = performance.now();
      const waitUs = await this.state.reserve(this.channel, intervalUs, block);
      if (epoch === this.#epoch) {
        // Redis said "from now": its now is about when the answer left, halfway through the round trip
        const first = t0 + (performance.now() - t0) / 2 + waitUs / 1000;
        for (let i = 0; i < block; i++) this.#slots.push(first + (i * intervalUs) / 1000);
      }
    } catch (err) {
      this.onError(err);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      this.#reserving = false;
    }
    this.#pump();
  }

  /** Slots reserved at once: about 40 ms worth. */
  #block(): number {
    return Math.max(1, Math.floor(this.rate() * 0.04));
  }

  #wakeAt(at: number): void {
    if (this.#timer && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        this.#pump();
      },
      Math.max(0, Math.floor(at - performance.now())),
    );
  }
}

/** At most `limit` holders at once; the rest wait in order. */
export class Semaphore {
  #free: number;
  readonly #queue: Array<() => void> = [];

  constructor(limit: number) {
    this.#free = Math.max(1, limit);
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((r) => this.#queue.push(r));
  }

  release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#free++;
  }
}
