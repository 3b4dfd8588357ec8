import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import type { Logger } from '../core/logger.ts';
import { sql } from '../core/sql.ts';
import { z } from '../core/zod.ts';
import type { RawEventRow } from './webhook-body.ts';

// 64-bit integers come bare from chDB and quoted from a server: coerced.
const watermarkRow = z.object({ ms: z.coerce.number().nullable(), n: z.coerce.number() });
const dayRow = z.object({ tenant_id: z.string(), day: z.string() });

/**
 * Keeps webhook_events_per_day in step with raw_webhook_events: days that received events are
 * rebuilt from the deduplicated raw rows (idempotent, so duplicates never count twice). At start,
 * days that received events after the last rebuild are rebuilt too (a crash in between loses nothing).
 */
export class DailyRollup {
  #dirty = new Map<string, Set<string>>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
  ) {}

  markDirty(rows: readonly Pick<RawEventRow, 'tenant_id' | 'day'>[]): void {
    for (const r of rows) {
      let days = this.#dirty.get(r.tenant_id);
      if (!days) this.#dirty.set(r.tenant_id, (days = new Set()));
      days.add(r.day);
    }
  }

  async start(): Promise<void> {
    const [w] = await query(this.ch, 'webhook_events.rollup_watermark', {}, watermarkRow);
    const since = (w?.n ?? 0) > 0 ? Number(w!.ms) - 60_000 : 0;
    this.markDirty(await query(this.ch, 'webhook_events.days_since', { since }, dayRow));
    await this.refreshNow();
    this.#timer = setInterval(
      () => void this.refreshNow().catch((err) => this.logger.warn({ err }, 'daily rollup refresh failed')),
      this.intervalMs,
    );
    this.#timer.unref();
  }

  /** Rebuilds every dirty day now; concurrent calls share the run. */
  refreshNow(): Promise<void> {
    if (this.#running) return this.#running.then(() => (this.#dirty.size ? this.refreshNow() : undefined));
    if (this.#dirty.size === 0) return Promise.resolve();
    const work = this.#dirty;
    this.#dirty = new Map();
    this.#running = (async () => {
      try {
        for (const [tenant, days] of work) {
          await this.ch.command({
            query: sql('webhook_events.refresh_days'),
            query_params: { tenant, days: [...days] },
          });
        }
      } catch (err) {
        for (const [tenant, days] of work)
          for (const d of days) this.markDirty([{ tenant_id: tenant, day: d } as RawEventRow]);
        throw err;
      }
    })().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.refreshNow().catch((err) => this.logger.warn({ err }, 'final daily rollup refresh failed'));
  }
}
