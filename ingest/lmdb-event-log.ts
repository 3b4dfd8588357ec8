import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import {
  BacklogFullError,
  type EventLog,
  type EventLogStatus,
  eventsIn,
  logStatus,
  type LogEntry,
  type LogPosition,
  type LogRecord,
} from './event-log.ts';

export interface LmdbEventLogOptions {
  dir: string;
  maxBytes: number;
  /** Consumers whose positions keep entries (an entry is freed once every one has done it). */
  consumers: readonly string[];
  /** Entries kept in memory for the consumers, so they need not read back what was just written. */
  cacheEntries?: number;
}

/**
 * A stored value: cumulative bytes, appended-at ms and cumulative events (float64 LE each), then the
 * record as JSON.
 */
const HEADER = 24;

/**
 * The event log on LMDB (lmdb-js): appends issued in one event turn share one transaction, and each
 * append resolves once its transaction is flushed (synced) to disk — group commit without our own
 * file format. A crash can only lose whole transactions that were never acknowledged (LMDB is
 * copy-on-write with atomic meta pages: no torn records to find and cut).
 */
export class LmdbEventLog implements EventLog {
  readonly id: string;
  readonly #root: RootDatabase;
  readonly #events: Database<Buffer, number>;
  readonly #meta: Database<unknown, string>;
  readonly #o: Required<LmdbEventLogOptions>;
  #lastSeq = 0;
  #lastEnd = 0;
  #lastEvents = 0;
  /** Highest seq known durable (readers see nothing beyond it). */
  #durable = 0;
  #durableEnd = 0;
  #durableEvents = 0;
  #positions = new Map<string, LogPosition>();
  /** Durable-or-pending entries in memory: #cache[i] has seq #cacheStart + i. */
  #cache: LogEntry[] = [];
  #cacheStart = 1;
  #listeners: Array<() => void> = [];
  /** Seqs whose append failed (in memory only: they were never stored). */
  #lost = new Set<number>();
  #error: { message: string; at: number } | undefined;
  #closed = false;
  #freeing: Promise<void> = Promise.resolve();

  constructor(opts: LmdbEventLogOptions) {
    this.#o = { cacheEntries: 50_000, ...opts };
    fs.mkdirSync(opts.dir, { recursive: true });
    this.#root = open({
      path: opts.dir,
      maxDbs: 4,
      // address space only; lmdb-js grows the map when it fills
      mapSize: Math.max(256 * 1024 ** 2, opts.maxBytes * 2),
      // the promise of a write resolves once it is committed; its `flushed` once synced
      separateFlushed: true,
    });
    this.#events = this.#root.openDB<Buffer, number>({ name: 'events', encoding: 'binary' });
    this.#meta = this.#root.openDB<unknown, string>({ name: 'meta' });
    let id = this.#meta.get('id') as string | undefined;
    if (!id) {
      id = randomUUID();
      this.#meta.putSync('id', id);
    }
    this.id = id;
    for (const key of this.#events.getKeys({ reverse: true, limit: 1 })) {
      this.#lastSeq = key;
      const d = decode(this.#events.get(key)!);
      this.#lastEnd = d.e;
      this.#lastEvents = d.n;
    }
    let first: number | undefined;
    for (const key of this.#events.getKeys({ limit: 1 })) first = key;
    for (const c of opts.consumers) {
      const p = this.#meta.get(`pos:${c}`) as LogPosition | undefined;
      // a consumer without a position starts before the first entry kept
      this.#positions.set(c, p ?? { seq: first !== undefined ? first - 1 : this.#lastSeq, ...this.#before(first) });
    }
    this.#durable = this.#lastSeq;
    this.#durableEnd = this.#lastEnd;
    this.#cacheStart = this.#lastSeq + 1;
  }

  /** The cumulative figures just before `seq` (or at the end of the log). */
  #before(seq: number | undefined): { end: number; events: number } {
    if (seq === undefined) return { end: this.#lastEnd, events: this.#lastEvents };
    const d = decode(this.#events.get(seq)!);
    return { end: d.e - (this.#events.get(seq)?.length ?? 0), events: d.n - eventsIn(d.r) };
  }

  #minPosition(): LogPosition {
    let min: LogPosition | undefined;
    for (const p of this.#positions.values()) if (!min || p.seq < min.seq) min = p;
    return min ?? { seq: this.#durable, end: this.#durableEnd, events: this.#durableEvents };
  }

  async append(records: LogRecord[]): Promise<void> {
    if (this.#closed) throw new Error('event log is closed');
    if (records.length === 0) return;
    const t = Date.now();
    const values = records.map((r) => {
      const json = Buffer.from(JSON.stringify(r));
      const v = Buffer.allocUnsafe(HEADER + json.length);
      json.copy(v, HEADER);
      return v;
    });
    const kept = this.#lastEnd - this.#minPosition().end;
    const adding = values.reduce((n, b) => n + b.length, 0);
    if (kept + adding > this.#o.maxBytes) throw new BacklogFullError(kept, this.#o.maxBytes);
    let last: Promise<boolean> | undefined;
    const entries: LogEntry[] = [];
    for (let i = 0; i < records.length; i++) {
      const seq = ++this.#lastSeq;
      const v = values[i]!;
      this.#lastEnd += v.length;
      this.#lastEvents += eventsIn(records[i]!);
      v.writeDoubleLE(this.#lastEnd, 0);
      v.writeDoubleLE(t, 8);
      v.writeDoubleLE(this.#lastEvents, 16);
      last = this.#events.put(seq, v);
      entries.push({ seq, end: this.#lastEnd, events: this.#lastEvents, at: t, record: records[i]! });
    }
    for (const e of entries) this.#cache.push(e);
    this.#trimCache();
    try {
      await last;
      await (last as Promise<boolean> & { flushed?: Promise<void> }).flushed;
    } catch (e) {
      // never durable: readers must not see these entries
      for (const entry of entries) this.#lost.add(entry.seq);
      this.#error = { message: (e as Error).message, at: Date.now() };
      throw e;
    }
    this.#error = undefined;
    const tail = entries[entries.length - 1]!;
    if (tail.seq > this.#durable) {
      this.#durable = tail.seq;
      this.#durableEnd = tail.end;
      this.#durableEvents = tail.events;
    }
    for (const fn of this.#listeners) fn();
  }

  /** Beyond the bound, the oldest tenth goes at once (consumers read those from the store). */
  #trimCache(): void {
    const cap = this.#o.cacheEntries;
    if (this.#cache.length > cap + Math.ceil(cap / 10)) {
      const over = this.#cache.length - cap;
      this.#cache.splice(0, over);
      this.#cacheStart += over;
    }
  }

  head(): number {
    return this.#durable;
  }

  read(after: number, max: number): LogEntry[] {
    const from = after + 1;
    const to = Math.min(this.#durable, after + max);
    if (to < from) return [];
    if (from >= this.#cacheStart) {
      const out = this.#cache.slice(from - this.#cacheStart, to - this.#cacheStart + 1);
      return this.#lost.size ? out.filter((e) => !this.#lost.has(e.seq)) : out;
    }
    const out: LogEntry[] = [];
    for (const { key, value } of this.#events.getRange({ start: from, end: to + 1 })) {
      const s = decode(value);
      out.push({ seq: key, end: s.e, events: s.n, at: s.t, record: s.r });
    }
    return out;
  }

  position(consumer: string): LogPosition {
    const p = this.#positions.get(consumer);
    if (!p) throw new Error(`unknown event log consumer: ${consumer}`);
    return p;
  }

  async commit(consumer: string, to: LogPosition): Promise<void> {
    const before = this.#minPosition().seq;
    if (to.seq <= this.position(consumer).seq) return;
    this.#positions.set(consumer, { seq: to.seq, end: to.end, events: to.events });
    const after = this.#minPosition().seq;
    const put = this.#meta.put(`pos:${consumer}`, { seq: to.seq, end: to.end, events: to.events });
    if (after > before) {
      // drop what every consumer has done from memory and from the store (in the background of the
      // position write; a crash before it only means those entries are read again and skipped)
      const drop = Math.min(this.#cache.length, after - this.#cacheStart + 1);
      if (drop > 0) {
        this.#cache.splice(0, drop);
        this.#cacheStart += drop;
      }
      this.#freeing = this.#freeing
        .then(() => this.#free(after))
        .catch((e: unknown) => {
          // not freed now: those entries stay until a later commit frees past them
          this.#error = { message: `freeing the log failed: ${(e as Error).message}`, at: Date.now() };
        });
    }
    await put;
  }

  /** Removes every entry up to `to` (from the first kept: what a failed free left is removed too). */
  async #free(to: number): Promise<void> {
    await this.#events.transaction(() => {
      for (const key of this.#events.getKeys({ end: to + 1 })) this.#events.removeSync(key);
    });
  }

  note(name: string): unknown {
    return this.#meta.get(`note:${name}`);
  }

  async setNote(name: string, value: unknown): Promise<void> {
    const p = value === undefined ? this.#meta.remove(`note:${name}`) : this.#meta.put(`note:${name}`, value);
    await p;
    await (p as Promise<boolean> & { flushed?: Promise<void> }).flushed;
  }

  onAppend(fn: () => void): void {
    this.#listeners.push(fn);
  }

  #ageOf(seq: number): number | null {
    if (seq > this.#durable) return null;
    const cached = seq >= this.#cacheStart ? this.#cache[seq - this.#cacheStart] : undefined;
    if (cached) return Date.now() - cached.at;
    const v = this.#events.get(seq);
    return v ? Date.now() - v.readDoubleLE(8) : null;
  }

  status(): EventLogStatus {
    return logStatus({
      positions: this.#positions,
      durable: { seq: this.#durable, end: this.#durableEnd, events: this.#durableEvents },
      ageOf: (seq) => this.#ageOf(seq),
      error: this.#error,
      bytes: this.#lastEnd - this.#minPosition().end,
      maxBytes: this.#o.maxBytes,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#freeing.catch(() => undefined);
    await this.#root.flushed;
    await this.#root.close();
  }
}

function decode(v: Buffer): { e: number; t: number; n: number; r: LogRecord } {
  return {
    e: v.readDoubleLE(0),
    t: v.readDoubleLE(8),
    n: v.readDoubleLE(16),
    r: JSON.parse(v.toString('utf8', HEADER)) as LogRecord,
  };
}
