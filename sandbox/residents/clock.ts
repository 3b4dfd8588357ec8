/**
 * Simulated time. Simulated time runs `speed`× faster than real time while it is behind real
 * time, then at real time. Tests can move it forward explicitly with `advanceBy`.
 * Insight days are Asia/Tokyo calendar days (UTC+9, no daylight saving).
 */
import { TOKYO_OFFSET_MS } from '../../core/time.ts';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/** Days since 1970-01-01 in Asia/Tokyo for an epoch-ms instant. */
export function jstDay(ms: number): number {
  return Math.floor((ms + TOKYO_OFFSET_MS) / DAY_MS);
}

/** Epoch ms of 00:00 Asia/Tokyo on the given day number. */
export function jstDayStart(day: number): number {
  return day * DAY_MS - TOKYO_OFFSET_MS;
}

/** yyyyMMdd of a day number. */
export function dayToYmd(day: number): string {
  const d = new Date(day * DAY_MS);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + 1;
  const dd = d.getUTCDate();
  return `${y}${m < 10 ? '0' : ''}${m}${dd < 10 ? '0' : ''}${dd}`;
}

/** Day number of a yyyyMMdd string, or undefined when it is not a real calendar date. */
export function ymdToDay(ymd: string): number | undefined {
  if (!/^[0-9]{8}$/.test(ymd)) return undefined;
  const y = Number(ymd.slice(0, 4));
  const m = Number(ymd.slice(4, 6));
  const d = Number(ymd.slice(6, 8));
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return undefined;
  return Math.floor(ms / DAY_MS);
}

/** yyyyMM of the Asia/Tokyo month containing an instant. */
export function jstMonth(ms: number): string {
  return dayToYmd(jstDay(ms)).slice(0, 6);
}

export interface SimClockOptions {
  /** Simulated start, epoch ms (default: real now). */
  start?: number;
  /** Simulated ms per real ms while behind real time. */
  speed: number;
  /** The real clock, epoch ms. */
  realNow?: () => number;
}

export class SimClock {
  readonly speed: number;
  readonly startedAt: number;
  private readonly realNow: () => number;
  /** Simulated time at the anchor. */
  private simAnchor: number;
  /** Real time at the anchor. */
  private realAnchor: number;
  private last = -Infinity;

  constructor(opts: SimClockOptions) {
    this.realNow = opts.realNow ?? Date.now;
    this.speed = opts.speed;
    this.realAnchor = this.realNow();
    this.simAnchor = opts.start ?? this.realAnchor;
    this.startedAt = this.simAnchor;
  }

  /** Simulated now, epoch ms (never goes backwards). */
  now(): number {
    const t = Math.floor(this.compute(this.realNow()));
    if (t > this.last) this.last = t;
    return this.last;
  }

  /** Moves simulated time forward by ms (on top of its own flow). */
  advanceBy(ms: number): number {
    if (!(ms >= 0)) throw new RangeError('advanceBy needs a non-negative number of milliseconds');
    const real = this.realNow();
    const sim = Math.max(this.compute(real), this.last);
    this.simAnchor = sim + ms;
    this.realAnchor = real;
    return this.now();
  }

  private compute(real: number): number {
    const elapsed = Math.max(0, real - this.realAnchor);
    const behind = this.simAnchor < this.realAnchor;
    if (!behind || this.speed <= 1) {
      return this.simAnchor + elapsed * (behind ? this.speed : 1);
    }
    // Accelerated until simulated time catches up with real time, then real time.
    const fast = this.simAnchor + elapsed * this.speed;
    return Math.min(fast, real);
  }
}
