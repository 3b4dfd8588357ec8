import type { Logger } from '../core/logger.ts';
import type { ClickRow, EventLog } from './event-log.ts';

/**
 * Fixed-window counters in memory, bounded: at most `maxKeys` keys per window; a key beyond that is
 * treated as over its limit (nothing counted) until the window turns, so memory stays bounded even
 * when a script varies its address.
 */
export class WindowLimiter {
  #counts = new Map<string, number>();
  #windowStart = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly maxKeys = 100_000,
  ) {}

  /** Counts one hit for the key; false when the key is over its limit in this window. */
  hit(key: string, now = Date.now()): boolean {
    if (now - this.#windowStart >= this.windowMs) {
      this.#counts.clear();
      this.#windowStart = now;
    }
    const n = this.#counts.get(key);
    if (n === undefined) {
      if (this.#counts.size >= this.maxKeys) return false;
      this.#counts.set(key, 1);
      return this.limit >= 1;
    }
    if (n >= this.limit) return false;
    this.#counts.set(key, n + 1);
    return true;
  }
}

export interface ClickLimits {
  /** Clicks counted per (address, link token) in a window: one resident tapping again is one click. */
  perAddressToken: { limit: number; windowMs: number };
  /** Clicks counted per address over all links (a carrier's NAT puts many residents behind one). */
  perAddress: { limit: number; windowMs: number };
  /** Clicks counted per link token over all addresses. */
  perToken: { limit: number; windowMs: number };
}

export const DEFAULT_CLICK_LIMITS: ClickLimits = {
  perAddressToken: { limit: 1, windowMs: 60_000 },
  perAddress: { limit: 120, windowMs: 60_000 },
  perToken: { limit: 6_000, windowMs: 60_000 },
};

export type ClickOutcome = 'counted' | 'limited' | 'lost';

/**
 * Where the click redirect records a click: the event log (durable, shipped to delivery_clicks
 * with the webhooks), after the rate limits. Never throws: the resident is redirected whatever
 * happens here; a click that could not be logged is counted in `stats.lost`.
 */
export class ClickSink {
  readonly #pair: WindowLimiter;
  readonly #address: WindowLimiter;
  readonly #token: WindowLimiter;
  readonly stats = { counted: 0, limited: 0, lost: 0 };

  constructor(
    private readonly log: EventLog,
    private readonly logger: Logger,
    limits: ClickLimits = DEFAULT_CLICK_LIMITS,
  ) {
    this.#pair = new WindowLimiter(limits.perAddressToken.limit, limits.perAddressToken.windowMs);
    this.#address = new WindowLimiter(limits.perAddress.limit, limits.perAddress.windowMs);
    this.#token = new WindowLimiter(limits.perToken.limit, limits.perToken.windowMs, 1_000_000);
  }

  async record(token: string, address: string, row: ClickRow): Promise<ClickOutcome> {
    // every limiter sees the hit only if the narrower ones let it through
    if (!this.#pair.hit(`${address}\u0000${token}`) || !this.#address.hit(address) || !this.#token.hit(token)) {
      this.stats.limited++;
      return 'limited';
    }
    try {
      await this.log.append([{ kind: 'click', row }]);
      this.stats.counted++;
      return 'counted';
    } catch (err) {
      this.stats.lost++;
      this.logger.warn({ err: (err as Error).message }, 'click not recorded (event log refused it)');
      return 'lost';
    }
  }
}
