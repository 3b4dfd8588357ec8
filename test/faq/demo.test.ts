/**
 * The demo's sample FAQ: 100 questions published as 第 1 版 for each municipality with 60 days of
 * simulated use; the same rows on every run (deterministic), nothing written twice (idempotent), a
 * tenant that has its own scenario left alone, and statistics that show something.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedDemoFaq } from '../../cli/demo-faq.ts';
import { type FaqWorld, faqWorld, op, SCENARIO, TSU, YOKKAICHI } from './fixtures.ts';

let w: FaqWorld;
const NOW = Date.parse('2026-06-15T01:00:00Z');
beforeAll(async () => {
  w = await faqWorld('tayori-faq-demo-');
}, 60_000);
afterAll(() => w?.h.close());

const dump = async (tenant: string) => {
  const rs = await w.h.ch.query({
    query: 'SELECT kind, node_id, at, event_id FROM faq_events FINAL WHERE tenant_id = {t:String} ORDER BY event_id',
    query_params: { t: tenant },
    format: 'JSONEachRow',
  });
  return rs.json();
};

it('seeds each municipality once, deterministically, with statistics to show', async () => {
  // 四日市市 has its own scenario already: left alone
  await w.faq.store.saveDraft(YOKKAICHI, { nodes: SCENARIO }, op, 'operator');
  await w.faq.store.publish(YOKKAICHI, '', op, 'operator');
  const first = await seedDemoFaq(w.h.ch, w.h.tenants, w.faq.store, NOW);
  expect(first.tenants).toBe(1);
  expect(first.events).toBeGreaterThan(500);
  const rows = await dump(TSU);
  expect(rows).toHaveLength(first.events);
  expect(await seedDemoFaq(w.h.ch, w.h.tenants, w.faq.store, NOW)).toEqual({ tenants: 0, events: 0 });
  expect(await dump(TSU)).toEqual(rows);
  expect((await w.faq.store.live(YOKKAICHI)).nodes).toHaveLength(SCENARIO.length);

  const { number, nodes } = await w.faq.store.live(TSU);
  expect(number).toBe(1);
  expect(nodes.filter((n) => n.kind === 'question')).toHaveLength(100);
  expect(nodes.find((n) => n.id === 'km-in')!.title).toBe('津市に引っ越してきたときの手続きは');
  expect((await w.faq.store.settings(TSU)).acceptTyped).toBe(true);
  const s = await w.faq.stats.stats(TSU, nodes, NOW - 61 * 86_400_000, NOW);
  expect(s.totals.views).toBe(rows.filter((r: any) => r.kind === 'view').length);
  expect(s.totals.rate).toBeGreaterThan(0.4);
  expect(s.totals.rate).toBeLessThan(1);
  expect(s.daily).toHaveLength(60);
  expect(s.monthlyTop.length).toBeGreaterThanOrEqual(2);
  expect(s.unresolved.length).toBeGreaterThan(0);
  expect(s.kinds.unmatched).toBeGreaterThan(0);

  // seeded again from nothing (events gone, nothing live): the same rows (deterministic)
  await w.h.ch.command({ query: 'TRUNCATE TABLE faq_events' });
  await w.h.ch.insert({
    table: 'faq_live',
    format: 'JSONEachRow',
    values: [
      {
        tenant_id: TSU,
        number: 0,
        changed_by: 'test',
        changed_at: '2026-06-15 00:00:00.000',
        version: Date.now() * 1000,
      },
    ],
  });
  expect(await dump(TSU)).toEqual([]);
  expect((await seedDemoFaq(w.h.ch, w.h.tenants, w.faq.store, NOW)).tenants).toBe(1);
  expect(await dump(TSU)).toEqual(rows);
}, 120_000);
