import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { batchRetryKey } from '../../delivery/ids.ts';
import { blankOutcome, OutcomeSettler, type OutcomeSettlerDeps } from '../../delivery/fan-out/settle-outcomes.ts';
import type { BatchOutcome } from '../../delivery/store.ts';

// Settling outcomes in groups, without Redis or ClickHouse: what is counted together, when, and what
// follows (the rows appended, the delivery finalized once complete). setTimeout is vitest's fake one;
// setImmediate is real: after it, every promise the fakes chain has run.
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));
type SettleCall = { id: string; batches: number[]; accepted: boolean[] };

function fakes(opts: { complete?: (id: string) => boolean; settleFails?: boolean } = {}) {
  const settles: SettleCall[] = [];
  const written: BatchOutcome[][] = [];
  const finalized: Array<[string, string]> = [];
  const deps: OutcomeSettlerDeps = {
    state: {
      settle: async (id, outcomes) => {
        if (opts.settleFails) throw new Error('redis down');
        settles.push({ id, batches: outcomes.map((o) => o.batch), accepted: outcomes.map((o) => o.accepted) });
        for (const o of outcomes) expect(JSON.parse(o.record).batch_no).toBe(o.batch);
        return opts.complete?.(id) ?? false;
      },
    },
    store: {
      batchWriter: {
        write: async (rows: BatchOutcome[]) => {
          written.push(rows);
        },
      },
    },
    logger: { warn: () => {}, error: () => {} },
    finalizer: {
      finalize: async (tenantId, id) => {
        finalized.push([tenantId, id]);
      },
    },
  };
  return { deps, settles, written, finalized };
}

function accepted(id: string, b: number): BatchOutcome {
  return { ...blankOutcome('t1', id, b, 500), status: 'accepted', http_status: 200 };
}

describe('settling outcomes', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a blank outcome is failed, unanswered, with the batch retry key', () => {
    expect(blankOutcome('t1', 'd1', 7, 320)).toEqual({
      tenant_id: 't1',
      delivery_id: 'd1',
      batch_no: 7,
      recipients: 320,
      status: 'failed',
      http_status: 0,
      request_id: '',
      retry_key: batchRetryKey('d1', 7),
      attempts: 0,
      reason: '',
      settled_at: '',
    });
  });

  it('outcomes arriving within 25 ms are counted in one call per delivery, then appended', async () => {
    const { deps, settles, written } = fakes();
    const s = new OutcomeSettler(deps);
    const done = [s.settle(accepted('d1', 0)), s.settle(blankOutcome('t1', 'd2', 0, 5)), s.settle(accepted('d1', 1))];
    await vi.advanceTimersByTimeAsync(24);
    await settled();
    expect(settles).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await settled();
    expect(settles).toHaveLength(2);
    await Promise.all(done);
    expect(settles).toEqual([
      { id: 'd1', batches: [0, 1], accepted: [true, true] },
      { id: 'd2', batches: [0], accepted: [false] },
    ]);
    expect(written.map((rows) => rows.map((r) => `${r.delivery_id}/${r.batch_no}`))).toEqual([
      ['d1/0', 'd1/1'],
      ['d2/0'],
    ]);
    expect(written[0]![0]!.settled_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  });

  it('the 512th waiting outcome flushes at once, without the timer', async () => {
    const { deps, settles } = fakes();
    const s = new OutcomeSettler(deps);
    const done = Array.from({ length: 512 }, (_, b) => s.settle(accepted('d1', b)));
    await settled(); // no timer advanced
    expect(settles).toHaveLength(1);
    await Promise.all(done);
    expect(settles[0]!.batches).toHaveLength(512);
    // the next outcome starts a new group
    const next = s.settle(accepted('d1', 512));
    await settled();
    expect(settles).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(25);
    await settled();
    expect(settles).toHaveLength(2);
    await next;
    expect(settles.map((c) => c.batches.length)).toEqual([512, 1]);
  });

  it('the group that completes a delivery finalizes it; others do not', async () => {
    const { deps, finalized } = fakes({ complete: (id) => id === 'd2' });
    const s = new OutcomeSettler(deps);
    const done = [s.settle(accepted('d1', 0)), s.settle(accepted('d2', 0))];
    await vi.advanceTimersByTimeAsync(25);
    await settled();
    expect(finalized).toEqual([['t1', 'd2']]);
    await Promise.all(done);
  });

  it('an outcome that cannot be counted rejects (its batch is sent again), and nothing is appended', async () => {
    const { deps, written } = fakes({ settleFails: true });
    const s = new OutcomeSettler(deps);
    let reason = '';
    void s.settle(accepted('d1', 0)).catch((e: Error) => (reason = e.message));
    await vi.advanceTimersByTimeAsync(25);
    await settled();
    expect(reason).toBe('redis down');
    expect(written).toEqual([]);
  });

  it('flush settles what waits at once (stopping) and resolves when it is counted', async () => {
    const { deps, settles } = fakes();
    const s = new OutcomeSettler(deps);
    const done = s.settle(accepted('d1', 3));
    await s.flush();
    await done;
    expect(settles).toEqual([{ id: 'd1', batches: [3], accepted: [true] }]);
  });
});
