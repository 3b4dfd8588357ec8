import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDir } from '../core/durable-files.ts';
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

export interface SegmentEventLogOptions {
  dir: string;
  maxBytes: number;
  /** Consumers whose positions keep entries (a segment is deleted once every one is past it). */
  consumers: readonly string[];
  /** Entries kept in memory for the consumers, so they need not read back what was just written. */
  cacheEntries?: number;
  /** A new segment file is begun once the current one holds this many bytes. */
  segmentBytes?: number;
  /** Only look (`npx tayori ingest status` while the suite is stopped): nothing is cut, written or deleted. */
  readOnly?: boolean;
  /**
   * Write (O_DSYNC) on the main thread (default) or on libuv's pool, one group in flight there
   * (TAYORI_EVENT_LOG_SYNC).
   */
  syncOnMain?: boolean;
}

/** Frame: payload length u32, CRC-32 of the payload u32, then the payload. */
const FRAME = 8;
/** Payload: seq, cumulative bytes, appended-at ms, cumulative events (float64 LE each), then the record as JSON. */
const HEAD = 32;
const STATE = 'state.json';
/** A segment every consumer is past, kept to be written over as the next one (see #free). */
const SPARE = 'spare.seg.tmp';
const SEGMENT = /^(\d{16})\.seg$/;

interface Segment {
  file: string;
  first: number;
  /** Offset of each entry (first + i) in the file. */
  offsets: number[];
  size: number;
}

interface State {
  id: string;
  positions: Record<string, LogPosition>;
  notes: Record<string, unknown>;
}

/** Appends waiting for the end of the event turn: their frames, entries and who waits on them. */
interface Group {
  frames: Buffer[];
  entries: LogEntry[];
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

/**
 * The event log as segment files of length + CRC-32 framed entries. Appends of one event turn form a
 * group: written and fdatasync'd together on the main thread at the end of the turn, and only then
 * resolved (group commit: one sync per turn however many requests wait on it; an append alone is
 * synced at once). The sync runs on the main thread on purpose: on this kind of machine handing it
 * to another thread and back costs more CPU than the sync itself (bench/ingest.ts measures both).
 * After a crash the torn tail (a short or mismatching frame) was never acknowledged: it is cut off
 * at start. Positions and notes live in state.json, replaced atomically.
 */
export class SegmentEventLog implements EventLog {
  readonly id: string;
  readonly #o: Required<SegmentEventLogOptions>;
  #segments: Segment[] = [];
  #fd: number | undefined;
  /** The current segment cannot take more (a failed write): the next group begins a new one. */
  #sealed = false;
  #lastSeq = 0;
  #lastEnd = 0;
  #lastEvents = 0;
  #durable = 0;
  #durableEnd = 0;
  #durableEvents = 0;
  #state: State;
  #cache: LogEntry[] = [];
  #cacheStart = 1;
  #group: Group | undefined;
  #scheduled: NodeJS.Immediate | undefined;
  #listeners: Array<() => void> = [];
  #error: { message: string; at: number } | undefined;
  #closed = false;
  #writing: Promise<void> | undefined;
  /** SPARE is in the directory. */
  #hasSpare = false;

  constructor(opts: SegmentEventLogOptions) {
    this.#o = { cacheEntries: 50_000, segmentBytes: 8 * 1024 ** 2, readOnly: false, syncOnMain: true, ...opts };
    if (!this.#o.readOnly) fs.mkdirSync(opts.dir, { recursive: true });
    const saved = this.#readState();
    this.#state = saved ?? { id: randomUUID(), positions: {}, notes: {} };
    this.id = this.#state.id;
    this.#openSegments();
    // with no entry kept, numbering goes on from where the consumers stand
    for (const p of Object.values(this.#state.positions))
      if (p.seq > this.#lastSeq) {
        this.#lastSeq = p.seq;
        this.#lastEnd = p.end;
        this.#lastEvents = p.events;
      }
    const first = this.#segments.find((s) => s.offsets.length > 0);
    const before = first
      ? this.#entryBefore(first)
      : { seq: this.#lastSeq, end: this.#lastEnd, events: this.#lastEvents };
    for (const c of opts.consumers) this.#state.positions[c] ??= before;
    this.#durable = this.#lastSeq;
    this.#durableEnd = this.#lastEnd;
    this.#durableEvents = this.#lastEvents;
    this.#cacheStart = this.#lastSeq + 1;
    if (!this.#o.readOnly) {
      if (!saved) this.#saveState(true);
      this.#free(this.#minPosition().seq);
    }
  }

  /**
   * Takes over what an older log kept (LMDB: Tayori before the segment files) — its id, positions,
   * notes and every entry a consumer still needs, with their seqs — written and synced as this log's
   * first segment before the old files go. A crash in between only repeats it (state.json is written last).
   */
  static adopt(
    dir: string,
    old: {
      id: string;
      positions: Record<string, LogPosition>;
      notes: Record<string, unknown>;
      /** The entries after the lowest position, in order, a chunk at a time. */
      chunks: Iterable<LogEntry[]>;
    },
  ): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const n of fs.readdirSync(dir)) if (SEGMENT.test(n) || n === STATE) fs.rmSync(path.join(dir, n));
    let fd: number | undefined;
    try {
      for (const chunk of old.chunks) {
        if (chunk.length === 0) continue;
        fd ??= fs.openSync(path.join(dir, `${String(chunk[0]!.seq).padStart(16, '0')}.seg`), 'w');
        const frames = chunk.map((e) => frameOf(e.seq, e.end, e.at, e.events, Buffer.from(JSON.stringify(e.record))));
        fs.writeSync(fd, Buffer.concat(frames));
      }
      if (fd !== undefined) fs.fdatasyncSync(fd);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    writeState(dir, { id: old.id, positions: old.positions, notes: old.notes }, true);
  }

  #readState(): State | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.#o.dir, STATE), 'utf8')) as State;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  #saveState(durable: boolean): void {
    writeState(this.#o.dir, this.#state, durable);
  }

  /** Reads every segment, indexes its entries and cuts a torn tail off. */
  #openSegments(): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.#o.dir).filter((n) => SEGMENT.test(n));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    names.sort();
    this.#hasSpare = !this.#o.readOnly && fs.existsSync(path.join(this.#o.dir, SPARE));
    for (const name of names) {
      const file = path.join(this.#o.dir, name);
      const buf = fs.readFileSync(file);
      const seg: Segment = { file, first: Number(SEGMENT.exec(name)![1]), offsets: [], size: 0 };
      let at = 0;
      while (at + FRAME <= buf.length) {
        const len = buf.readUInt32LE(at);
        if (len < HEAD || at + FRAME + len > buf.length) break;
        const payload = buf.subarray(at + FRAME, at + FRAME + len);
        if (crc32(payload) !== buf.readUInt32LE(at + 4)) break;
        const seq = payload.readDoubleLE(0);
        if (seq !== seg.first + seg.offsets.length) break;
        seg.offsets.push(at);
        this.#lastSeq = seq;
        this.#lastEnd = payload.readDoubleLE(8);
        this.#lastEvents = payload.readDoubleLE(24);
        at += FRAME + len;
      }
      seg.size = at;
      if (at < buf.length && !this.#o.readOnly) {
        // a torn or damaged tail: never acknowledged (its sync never returned)
        fs.truncateSync(file, at);
      }
      if (seg.offsets.length === 0) {
        if (!this.#o.readOnly) fs.rmSync(file, { force: true });
        continue;
      }
      this.#segments.push(seg);
    }
    // the last segment takes no more appends: a new one is begun (no write after a cut tail)
    this.#sealed = true;
  }

  /** The position just before a segment's first entry. */
  #entryBefore(seg: Segment): LogPosition {
    const e = this.#readRange(seg, 0, 1)[0]!;
    return { seq: e.seq - 1, end: e.end - this.#frameLength(seg, 0), events: e.events - eventsIn(e.record) };
  }

  #frameLength(seg: Segment, i: number): number {
    return (i + 1 < seg.offsets.length ? seg.offsets[i + 1]! : seg.size) - seg.offsets[i]!;
  }

  /** Entries i … i+n-1 of a segment, read from its file. */
  #readRange(seg: Segment, i: number, n: number): LogEntry[] {
    const from = seg.offsets[i]!;
    const to = i + n < seg.offsets.length ? seg.offsets[i + n]! : seg.size;
    const buf = Buffer.allocUnsafe(to - from);
    const fd = fs.openSync(seg.file, 'r');
    try {
      let got = 0;
      while (got < buf.length) {
        const r = fs.readSync(fd, buf, got, buf.length - got, from + got);
        if (r === 0) throw new Error(`event log segment ${seg.file} is shorter than its index`);
        got += r;
      }
    } finally {
      fs.closeSync(fd);
    }
    const out: LogEntry[] = [];
    for (let at = 0; at < buf.length; ) {
      const len = buf.readUInt32LE(at);
      out.push(decode(buf.subarray(at + FRAME, at + FRAME + len)));
      at += FRAME + len;
    }
    return out;
  }

  #minPosition(): LogPosition {
    let min: LogPosition | undefined;
    for (const c of this.#o.consumers) {
      const p = this.#state.positions[c];
      if (p && (!min || p.seq < min.seq)) min = p;
    }
    return min ?? { seq: this.#durable, end: this.#durableEnd, events: this.#durableEvents };
  }

  append(records: LogRecord[]): Promise<void> {
    if (this.#closed || this.#o.readOnly) return Promise.reject(new Error('event log is closed'));
    if (records.length === 0) return Promise.resolve();
    const t = Date.now();
    const payloads = records.map((r) => Buffer.from(JSON.stringify(r)));
    const adding = payloads.reduce((n, p) => n + FRAME + HEAD + p.length, 0);
    const kept = this.#lastEnd - this.#minPosition().end;
    if (kept + adding > this.#o.maxBytes) return Promise.reject(new BacklogFullError(kept, this.#o.maxBytes));
    const group = (this.#group ??= { frames: [], entries: [], waiters: [] });
    for (let i = 0; i < records.length; i++) {
      const json = payloads[i]!;
      const seq = ++this.#lastSeq;
      this.#lastEnd += FRAME + HEAD + json.length;
      this.#lastEvents += eventsIn(records[i]!);
      const frame = frameOf(seq, this.#lastEnd, t, this.#lastEvents, json);
      const entry = { seq, end: this.#lastEnd, events: this.#lastEvents, at: t, record: records[i]! };
      group.frames.push(frame);
      group.entries.push(entry);
      this.#cache.push(entry);
    }
    this.#trimCache();
    const done = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
    this.#scheduled ??= setImmediate(() => this.#commitGroup());
    return done;
  }

  /** Writes and syncs the turn's appends; they resolve (or reject, and are taken back) together. */
  #commitGroup(): void {
    this.#scheduled = undefined;
    if (this.#writing) return; // taken when the write in flight ends
    const group = this.#group;
    this.#group = undefined;
    if (!group) return;
    const first = group.entries[0]!;
    let seg = this.#segments[this.#segments.length - 1];
    const buf = group.frames.length === 1 ? group.frames[0]! : Buffer.concat(group.frames);
    try {
      if (this.#fd === undefined || this.#sealed || (seg?.size ?? 0) >= this.#o.segmentBytes)
        seg = this.#beginSegment(first.seq);
      if (this.#o.syncOnMain) {
        let wrote = 0;
        while (wrote < buf.length) wrote += fs.writeSync(this.#fd!, buf, wrote, buf.length - wrote, seg.size + wrote);
      }
    } catch (e) {
      this.#takeBack(group, seg, e);
      return;
    }
    if (this.#o.syncOnMain) {
      this.#written(group, seg!);
      return;
    }
    const fd = this.#fd!;
    const at = seg!.size;
    this.#writing = (async () => {
      try {
        let wrote = 0;
        while (wrote < buf.length) wrote += await writeAt(fd, buf, wrote, buf.length - wrote, at + wrote);
      } catch (e) {
        this.#takeBack(group, seg, e);
        return;
      } finally {
        this.#writing = undefined;
      }
      this.#written(group, seg!);
      if (this.#group && !this.#scheduled) this.#commitGroup();
    })();
  }

  #written(group: Group, seg: Segment): void {
    const tail = group.entries[group.entries.length - 1]!;
    let at = seg.size;
    for (const f of group.frames) {
      seg.offsets.push(at);
      at += f.length;
    }
    seg.size = at;
    this.#error = undefined;
    this.#durable = tail.seq;
    this.#durableEnd = tail.end;
    this.#durableEvents = tail.events;
    for (const w of group.waiters) w.resolve();
    for (const fn of this.#listeners) fn();
  }

  #beginSegment(first: number): Segment {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
    const file = path.join(this.#o.dir, `${String(first).padStart(16, '0')}.seg`);
    const c = fs.constants;
    const spare = path.join(this.#o.dir, SPARE);
    let reused = false;
    if (this.#hasSpare) {
      // written over in place: a write into blocks the file already has needs no metadata synced
      // with it (about a third less time and CPU a group than appending); what is left of its old
      // entries after the new ones fails the seq check at start and is cut
      this.#hasSpare = false;
      try {
        fs.renameSync(spare, file);
        this.#fd = fs.openSync(file, c.O_WRONLY | c.O_DSYNC);
        reused = true;
      } catch {
        fs.rmSync(spare, { force: true });
      }
    }
    if (!reused) this.#fd = fs.openSync(file, c.O_WRONLY | c.O_CREAT | c.O_TRUNC | c.O_DSYNC);
    syncDir(this.#o.dir);
    const seg: Segment = { file, first, offsets: [], size: 0 };
    this.#segments.push(seg);
    this.#sealed = false;
    return seg;
  }

  /**
   * A failed write or sync: the group was never durable. Its seqs are given back (nothing was
   * appended after it: the group is the newest), what reached the file is cut off, and the next group
   * goes to a new segment.
   */
  #takeBack(failed: Group, seg: Segment | undefined, e: unknown): void {
    // appends made while it was being written (pool mode) come after it: they go too
    const group: Group = this.#group
      ? {
          frames: [],
          entries: [...failed.entries, ...this.#group.entries],
          waiters: [...failed.waiters, ...this.#group.waiters],
        }
      : failed;
    this.#group = undefined;
    const first = group.entries[0]!;
    this.#lastSeq = first.seq - 1;
    this.#lastEnd = this.#durableEnd;
    this.#lastEvents = this.#durableEvents;
    this.#cache.length = Math.max(0, this.#cache.length - group.entries.length);
    if (this.#cache.length === 0) this.#cacheStart = this.#lastSeq + 1;
    if (seg && this.#fd !== undefined) {
      try {
        fs.ftruncateSync(this.#fd, seg.size);
      } catch {
        // the next start cuts the tail by its checksums
      }
    }
    this.#sealed = true;
    this.#error = { message: (e as Error).message, at: Date.now() };
    for (const w of group.waiters) w.reject(e);
  }

  /** Beyond the bound, the oldest tenth goes at once (consumers read those from the files). */
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
    const out: LogEntry[] = [];
    // older than the memory holds: from the files
    const diskTo = Math.min(to, this.#cacheStart - 1);
    for (const seg of this.#segments) {
      const last = seg.first + seg.offsets.length - 1;
      if (last < from || seg.first > diskTo) continue;
      const i = Math.max(from, seg.first) - seg.first;
      const n = Math.min(diskTo, last) - seg.first - i + 1;
      if (n > 0) for (const e of this.#readRange(seg, i, n)) out.push(e);
    }
    const cacheFrom = Math.max(from, this.#cacheStart);
    if (cacheFrom <= to)
      for (const e of this.#cache.slice(cacheFrom - this.#cacheStart, to - this.#cacheStart + 1)) out.push(e);
    return out;
  }

  position(consumer: string): LogPosition {
    const p = this.#state.positions[consumer];
    if (!p || !this.#o.consumers.includes(consumer)) throw new Error(`unknown event log consumer: ${consumer}`);
    return p;
  }

  async commit(consumer: string, to: LogPosition): Promise<void> {
    if (this.#o.readOnly) throw new Error('event log is read-only');
    if (to.seq <= this.position(consumer).seq) return;
    const before = this.#minPosition().seq;
    this.#state.positions[consumer] = { seq: to.seq, end: to.end, events: to.events };
    // synced whenever notes ride along (the shipper's: its position must be durable before its note goes)
    this.#saveState(Object.keys(this.#state.notes).length > 0);
    const after = this.#minPosition().seq;
    if (after <= before) return;
    const drop = Math.min(this.#cache.length, after - this.#cacheStart + 1);
    if (drop > 0) {
      this.#cache.splice(0, drop);
      this.#cacheStart += drop;
    }
    this.#free(after);
  }

  /**
   * Deletes the segments every consumer is past (never the one being written), keeping one as the
   * spare the next segment is written over.
   */
  #free(upTo: number): void {
    while (this.#segments.length > 1) {
      const seg = this.#segments[0]!;
      if (seg.first + seg.offsets.length - 1 > upTo) break;
      try {
        if (this.#hasSpare) fs.rmSync(seg.file, { force: true });
        else {
          fs.renameSync(seg.file, path.join(this.#o.dir, SPARE));
          this.#hasSpare = true;
        }
      } catch (e) {
        // kept for now: a later commit frees it
        this.#error = { message: `freeing the log failed: ${(e as Error).message}`, at: Date.now() };
        break;
      }
      this.#segments.shift();
    }
  }

  note(name: string): unknown {
    return this.#state.notes[name];
  }

  async setNote(name: string, value: unknown): Promise<void> {
    if (this.#o.readOnly) throw new Error('event log is read-only');
    if (value === undefined) delete this.#state.notes[name];
    else this.#state.notes[name] = value;
    this.#saveState(true);
  }

  onAppend(fn: () => void): void {
    this.#listeners.push(fn);
  }

  #ageOf(seq: number): number | null {
    if (seq > this.#durable) return null;
    const cached = seq >= this.#cacheStart ? this.#cache[seq - this.#cacheStart] : undefined;
    if (cached) return Date.now() - cached.at;
    const e = this.read(seq - 1, 1)[0];
    return e ? Date.now() - e.at : null;
  }

  status(): EventLogStatus {
    return logStatus({
      positions: this.#o.consumers.map((c) => [c, this.position(c)] as [string, LogPosition]),
      durable: { seq: this.#durable, end: this.#durableEnd, events: this.#durableEvents },
      ageOf: (seq) => this.#ageOf(seq),
      error: this.#error,
      bytes: this.#lastEnd - this.#minPosition().end,
      maxBytes: this.#o.maxBytes,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#scheduled) {
      clearImmediate(this.#scheduled);
      this.#commitGroup();
    }
    while (this.#writing) {
      await this.#writing;
      if (this.#group) this.#commitGroup();
    }
    this.#closed = true;
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** Replaces state.json whole; `durable`: synced (file and directory) before returning. */
function writeState(dir: string, state: State, durable: boolean): void {
  const file = path.join(dir, STATE);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(state));
    if (durable) fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (durable) syncDir(dir);
}

function frameOf(seq: number, end: number, at: number, events: number, json: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME + HEAD + json.length);
  frame.writeUInt32LE(HEAD + json.length, 0);
  frame.writeDoubleLE(seq, FRAME);
  frame.writeDoubleLE(end, FRAME + 8);
  frame.writeDoubleLE(at, FRAME + 16);
  frame.writeDoubleLE(events, FRAME + 24);
  json.copy(frame, FRAME + HEAD);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME)), 4);
  return frame;
}

function writeAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.write(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))),
  );
}

function decode(payload: Buffer): LogEntry {
  return {
    seq: payload.readDoubleLE(0),
    end: payload.readDoubleLE(8),
    at: payload.readDoubleLE(16),
    events: payload.readDoubleLE(24),
    record: JSON.parse(payload.toString('utf8', HEAD)) as LogRecord,
  };
}
