import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BacklogFullError, type LogRecord } from '../../ingest/event-log.ts';
import { LmdbEventLog } from '../../ingest/lmdb-event-log.ts';
import { tmpDir } from '../helpers/index.ts';

const tmp = tmpDir();
afterAll(() => tmp.remove());

const click = (n: number): LogRecord => ({
  kind: 'click',
  row: { tenant_id: '24201', delivery_id: `d${n}`, link_no: n, bucket: '', clicked_at: '2026-06-01 00:00:00.000' },
});
const ids = (entries: Array<{ record: LogRecord }>) =>
  entries.map((e) => (e.record.kind === 'click' ? e.record.row.link_no : -1));

describe('LmdbEventLog', () => {
  it('reads in append order from memory and from the store, keeps positions across a restart, frees what all have done', async () => {
    const dir = path.join(tmp.dir, 'a');
    const open = () => new LmdbEventLog({ dir, maxBytes: 1 << 20, consumers: ['ship', 'handle'], cacheEntries: 10 });
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
    const log = new LmdbEventLog({ dir: path.join(tmp.dir, 'b'), maxBytes: 4096, consumers: ['ship'] });
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
