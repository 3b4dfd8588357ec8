import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { BacklogFullError, type EventLog, eventLogSyncOnMain, type LogRecord } from '../../ingest/event-log.ts';
import { adoptOlderEventLog } from '../../ingest/index.ts';
import { LmdbEventLog } from '../../ingest/lmdb-event-log.ts';
import { SegmentEventLog } from '../../ingest/segment-event-log.ts';
import { tmpDir } from '../helpers/index.ts';

const tmp = tmpDir();
afterAll(() => tmp.remove());

const click = (n: number): LogRecord => ({
  kind: 'click',
  row: { tenant_id: '24201', delivery_id: `d${n}`, link_no: n, bucket: '', clicked_at: '2026-06-01 00:00:00.000' },
});
const ids = (entries: Array<{ record: LogRecord }>) =>
  entries.map((e) => (e.record.kind === 'click' ? e.record.row.link_no : -1));

type Opts = { dir: string; maxBytes: number; consumers: string[]; cacheEntries?: number; segmentBytes?: number };
const stores: Array<[string, (o: Opts) => EventLog]> = [
  ['segment files, written on the main thread', (o) => new SegmentEventLog({ ...o, syncOnMain: true })],
  ["segment files, written on libuv's pool", (o) => new SegmentEventLog({ ...o, syncOnMain: false })],
  ['LMDB (the store before, still read to take an old log over)', (o) => new LmdbEventLog(o)],
];

describe.each(stores)('event log on %s', (name, make) => {
  const key = name.replace(/\W+/g, '-');
  it('reads in append order from memory and from the store, keeps positions across a restart, frees what all have done', async () => {
    const dir = path.join(tmp.dir, `a-${key}`);
    const open = () => make({ dir, maxBytes: 1 << 20, consumers: ['ship', 'handle'], cacheEntries: 10 });
    let log = open();
    // concurrent appends (one transaction per event turn), then more than the memory holds
    await Promise.all(Array.from({ length: 30 }, (_, i) => log.append([click(i)])));
    for (let i = 30; i < 100; i++) await log.append([click(i)]);
    expect(log.head()).toBe(100);
    expect(ids(log.read(0, 1000))).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(ids(log.read(95, 3))).toEqual([95, 96, 97]);

    const at = log.read(59, 1)[0]!;
    await log.commit('ship', { seq: at.seq, end: at.end, events: at.events });
    expect(log.status().consumers.ship).toMatchObject({ events: 40, entries: 40 });
    expect(log.status().consumers.handle).toMatchObject({ events: 100, entries: 100 });
    const kept = log.status().bytes;
    await log.close();

    // restart: positions and entries as they were; nothing freed yet (handle has done nothing)
    log = open();
    expect(log.position('ship').seq).toBe(60);
    expect(ids(log.read(log.position('ship').seq, 1000))).toEqual(Array.from({ length: 40 }, (_, i) => 60 + i));
    expect(log.status().bytes).toBe(kept);
    const last = log.read(99, 1)[0]!;
    await log.commit('handle', { seq: last.seq, end: last.end, events: last.events });
    await log.commit('ship', { seq: last.seq, end: last.end, events: last.events });
    expect(log.status().bytes).toBe(0);
    await log.append([click(100)]);
    expect(ids(log.read(100, 10))).toEqual([100]);
    await log.close();
    log = open();
    expect(ids(log.read(0, 1000))).toEqual([100]); // 1–100 were freed from the store
    await log.close();
  });

  it('refuses appends past its bound and takes them again once consumers move on', async () => {
    const log = make({ dir: path.join(tmp.dir, `b-${key}`), maxBytes: 4096, consumers: ['ship'] });
    let n = 0;
    for (;;) {
      try {
        await log.append([click(n)]);
        n++;
      } catch (e) {
        expect(e).toBeInstanceOf(BacklogFullError);
        break;
      }
    }
    expect(n).toBeGreaterThan(5);
    expect(log.status().bytes).toBeLessThanOrEqual(4096);
    const last = log.read(0, 1000).pop()!;
    await log.commit('ship', { seq: last.seq, end: last.end, events: last.events });
    await log.append([click(n)]);
    expect(ids(log.read(last.seq, 10))).toEqual([n]);
    await log.close();
  });
});

describe.each([
  ['on the main thread', true],
  ["on libuv's pool", false],
])('SegmentEventLog, writing %s', (_, syncOnMain) => {
  it('cuts a torn last frame after a crash (never acknowledged) and goes on numbering after the last whole one', async () => {
    const dir = path.join(tmp.dir, `c${syncOnMain}`);
    let log = new SegmentEventLog({ syncOnMain, dir, maxBytes: 1 << 20, consumers: ['ship'] });
    for (let i = 0; i < 5; i++) await log.append([click(i)]);
    await log.close();
    const [seg] = fs.readdirSync(dir).filter((n) => n.endsWith('.seg'));
    const file = path.join(dir, seg!);
    const whole = fs.statSync(file).size;
    // a crash in the middle of a write: half of a sixth frame, then a frame whose checksum does not match
    const bytes = fs.readFileSync(file);
    fs.appendFileSync(file, bytes.subarray(0, 20));
    log = new SegmentEventLog({ syncOnMain, dir, maxBytes: 1 << 20, consumers: ['ship'] });
    expect(fs.statSync(file).size).toBe(whole);
    expect(log.head()).toBe(5);
    expect(ids(log.read(0, 100))).toEqual([0, 1, 2, 3, 4]);
    await log.append([click(5)]);
    expect(log.read(5, 1)[0]).toMatchObject({ seq: 6 });
    await log.close();
    const flipped = fs.readFileSync(file);
    flipped[flipped.length - 3] ^= 0xff; // the last frame of the first segment damaged
    fs.writeFileSync(file, flipped);
    log = new SegmentEventLog({ syncOnMain, dir, maxBytes: 1 << 20, consumers: ['ship'] });
    expect(ids(log.read(0, 100))).toEqual([0, 1, 2, 3, 5]);
    await log.close();
  });

  it('gives a failed write back whole: its appends reject, nothing of it is read or kept, the next append takes its place', async () => {
    const dir = path.join(tmp.dir, `e${syncOnMain}`);
    const open = () => new SegmentEventLog({ syncOnMain, dir, maxBytes: 1 << 20, consumers: ['ship'] });
    let log = open();
    for (let i = 0; i < 3; i++) await log.append([click(i)]);
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const spy = syncOnMain
      ? vi.spyOn(fs, 'writeSync').mockImplementationOnce(() => {
          throw full;
        })
      : vi.spyOn(fs, 'write').mockImplementationOnce(((...args: unknown[]) => {
          (args[args.length - 1] as (e: Error) => void)(full);
        }) as typeof fs.write);
    const failed = await Promise.allSettled([log.append([click(90)]), log.append([click(91)])]);
    spy.mockRestore();
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(log.head()).toBe(3);
    expect(log.status()).toMatchObject({ healthy: false, error: expect.stringContaining('ENOSPC') });
    await log.append([click(3)]);
    expect(log.read(0, 100).map((e) => [e.seq, ids([e])[0]])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
    ]);
    expect(log.status().healthy).toBe(true);
    await log.close();
    log = open();
    expect(ids(log.read(0, 100))).toEqual([0, 1, 2, 3]);
    await log.close();
  });

  it('rolls over to new segment files and deletes those every consumer is past', async () => {
    const dir = path.join(tmp.dir, `d${syncOnMain}`);
    const log = new SegmentEventLog({
      syncOnMain,
      dir,
      maxBytes: 1 << 20,
      consumers: ['ship', 'handle'],
      segmentBytes: 1000,
      cacheEntries: 5,
    });
    for (let i = 0; i < 60; i++) await log.append([click(i)]);
    const files = () => fs.readdirSync(dir).filter((n) => n.endsWith('.seg')).length;
    const many = files();
    expect(many).toBeGreaterThan(5);
    expect(ids(log.read(0, 1000))).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(ids(log.read(17, 4))).toEqual([17, 18, 19, 20]);
    const at = log.read(39, 1)[0]!;
    await log.commit('ship', at);
    expect(files()).toBe(many); // handle has done nothing yet
    await log.commit('handle', at);
    expect(files()).toBeLessThan(many);
    expect(ids(log.read(40, 1000))).toEqual(Array.from({ length: 20 }, (_, i) => 40 + i));
    expect(log.status().consumers.ship).toMatchObject({ entries: 20, events: 20 });
    // a freed segment is kept as the spare the next one is written over: its old entries never show
    expect(fs.existsSync(path.join(dir, 'spare.seg.tmp'))).toBe(true);
    for (let i = 60; i < 90; i++) await log.append([click(i)]);
    expect(fs.existsSync(path.join(dir, 'spare.seg.tmp'))).toBe(false);
    expect(ids(log.read(40, 1000))).toEqual(Array.from({ length: 50 }, (_, i) => 40 + i));
    await log.close();
    const again = new SegmentEventLog({ syncOnMain, dir, maxBytes: 1 << 20, consumers: ['ship', 'handle'] });
    expect(ids(again.read(40, 1000))).toEqual(Array.from({ length: 50 }, (_, i) => 40 + i));
    expect(again.head()).toBe(90);
    await again.append([click(90)]);
    expect(again.read(90, 1)[0]).toMatchObject({ seq: 91 });
    await again.close();
  });
});

describe('an event log kept by LMDB (Tayori before the segment files)', () => {
  it("is taken over whole at start: id, positions, the shipper's note and every entry still needed", async () => {
    const dir = path.join(tmp.dir, 'lmdb');
    const old = new LmdbEventLog({ dir, maxBytes: 1 << 20, consumers: ['ship', 'handle'] });
    for (let i = 0; i < 30; i++) await old.append([click(i)]);
    const shipped = old.read(9, 1)[0]!;
    const handled = old.read(19, 1)[0]!;
    await old.commit('ship', shipped);
    await old.commit('handle', handled);
    await old.setNote('ship.inflight', { from: 11, to: 30 });
    const id = old.id;
    await old.close();

    expect(await adoptOlderEventLog(dir)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'data.mdb'))).toBe(false);
    expect(await adoptOlderEventLog(dir)).toBe(false);
    const log = new SegmentEventLog({ dir, maxBytes: 1 << 20, consumers: ['ship', 'handle'] });
    expect(log.id).toBe(id);
    expect(log.position('ship')).toEqual({ seq: 10, end: shipped.end, events: shipped.events });
    expect(log.position('handle').seq).toBe(20);
    expect(log.note('ship.inflight')).toEqual({ from: 11, to: 30 });
    expect(ids(log.read(10, 100))).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i));
    await log.append([click(30)]);
    expect(log.read(30, 1)[0]).toMatchObject({ seq: 31, events: 31 });
    expect(log.status().consumers.ship).toMatchObject({ entries: 21, events: 21 });
    await log.close();
  });
});

describe('TAYORI_EVENT_LOG_SYNC', () => {
  it('chooses where the group write waits for the disk, main by default, and refuses anything else in Japanese', () => {
    expect(eventLogSyncOnMain({})).toBe(true);
    expect(eventLogSyncOnMain({ TAYORI_EVENT_LOG_SYNC: 'main' })).toBe(true);
    expect(eventLogSyncOnMain({ TAYORI_EVENT_LOG_SYNC: ' pool ' })).toBe(false);
    expect(() => eventLogSyncOnMain({ TAYORI_EVENT_LOG_SYNC: 'fast' })).toThrow(/main または pool/);
  });
});
