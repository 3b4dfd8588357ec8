/**
 * The demo's sample FAQ: every municipality gets the 100-question scenario (cli/demo-faq-content.ts)
 * published as 第 1 版, typed questions on (unmatched ones kept 90 days), and 60 days of simulated use —
 * residents walking menu → category → question, answering はい／いいえ at each question's own rate,
 * typed questions matched, offered candidates or unmatched — so the statistics page and the flow view
 * show figures.
 *
 * Deterministic (a seeded generator per tenant, whole days), one bulk INSERT per table and tenant, and
 * idempotent: a tenant with a published scenario is left alone.
 */
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { TenantStore } from '../core/tenants.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import type { FaqNode, FaqStore } from '../faq/index.ts';
import { demoFaqNodes } from './demo-faq-content.ts';
import { prng } from './demo-prng.ts';

const DAY = 86_400_000;
const DAYS = 60;
const UNMATCHED = [
  '図書館の開館時間は',
  '市営プールはいつから',
  '児童手当の振込日',
  '犬の登録はどこで',
  'バスの時刻表がみたい',
  '雪の日のごみ収集',
  '空き家の相談窓口',
  '成人式の日程を教えて',
];

export interface DemoFaqResult {
  tenants: number;
  events: number;
}

export async function seedDemoFaq(
  ch: ClickHouseClient,
  tenants: TenantStore,
  store: Pick<FaqStore, 'liveNumber'>,
  now = Date.now(),
): Promise<DemoFaqResult> {
  const result: DemoFaqResult = { tenants: 0, events: 0 };
  const today = Math.floor(now / DAY) * DAY;
  for (const t of await tenants.list()) {
    if (t.kind !== 'municipality') continue;
    if ((await store.liveNumber(t.id)) > 0) continue;
    const nodes = demoFaqNodes(t.name);
    const r = prng(`faq:${t.id}`);
    const at = chDateTime(today - DAYS * DAY - DAY);
    const json = JSON.stringify(nodes);
    await ch.insert({
      table: 'faq_versions',
      format: 'JSONEachRow',
      values: [{ tenant_id: t.id, number: 1, nodes: json, note: 'デモ: 初版', published_by: 'デモ', published_at: at }],
    });
    await ch.insert({
      table: 'faq_drafts',
      format: 'JSONEachRow',
      values: [{ tenant_id: t.id, nodes: json, updated_by: 'デモ', updated_at: at, version: nextVersion() }],
    });
    await ch.insert({
      table: 'faq_settings',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: t.id,
          accept_typed: 1,
          ai_endpoint: '',
          ai_timeout_ms: 4000,
          keep_unmatched: 1,
          retention_days: 90,
          contact: `${t.name}役所 代表電話 (平日 8:30〜17:15)`,
          updated_by: 'デモ',
          updated_at: at,
          version: nextVersion(),
        },
      ],
    });
    const events = simulate(t.id, nodes, r, today);
    await ch.insert({ table: 'faq_events', format: 'JSONEachRow', values: events });
    const kept = UNMATCHED.filter(() => r() < 0.7).map((text, i) => {
      const when = now - Math.floor(r() * 30 * DAY) - 60_000;
      return {
        tenant_id: t.id,
        at: chDateTime(when),
        text,
        expires_at: chDateTime(when + 90 * DAY).slice(0, 19),
        event_id: `demo:${t.id}:u${i}`,
      };
    });
    if (kept.length) await ch.insert({ table: 'faq_unmatched', format: 'JSONEachRow', values: kept });
    // live last: a half-seeded tenant (a failure above) is seeded again on the next start
    await ch.insert({
      table: 'faq_live',
      format: 'JSONEachRow',
      values: [{ tenant_id: t.id, number: 1, changed_by: 'デモ', changed_at: at, version: nextVersion() }],
    });
    result.tenants++;
    result.events += events.length;
  }
  return result;
}

/** 60 days of residents' use of the tree (rows of faq_events). */
function simulate(tenantId: string, nodes: FaqNode[], r: () => number, today: number) {
  const questions = nodes.filter((n) => n.kind === 'question' && !n.goTo);
  // popularity: a few questions draw most views; each has its own resolution rate
  const weight = questions.map(() => r() ** 3);
  const total = weight.reduce((a, b) => a + b, 0);
  const solve = questions.map(() => 0.5 + r() * 0.45);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const rows: Array<Record<string, unknown>> = [];
  let seq = 0;
  const push = (kind: string, nodeId: string, via: string, at: number) =>
    rows.push({
      tenant_id: tenantId,
      at: chDateTime(at),
      kind,
      node_id: nodeId,
      via,
      event_id: `demo:${tenantId}:${seq++}`,
    });
  for (let d = DAYS; d >= 1; d--) {
    const day = today - d * DAY;
    const sessions = 8 + Math.floor(r() * 25);
    for (let s = 0; s < sessions; s++) {
      let at = day + Math.floor((7 + r() * 15) * 3_600_000) - 9 * 3_600_000;
      let x = r() * total;
      let i = 0;
      while (i < questions.length - 1 && (x -= weight[i]!) > 0) i++;
      const q = questions[i]!;
      const typed = r() < 0.25;
      if (!typed) {
        // menu → category → sub-category → question
        const sub = byId.get(q.parentId);
        const top = sub ? byId.get(sub.parentId) : undefined;
        if (top) push('view', top.id, 'chat', (at += 5_000));
        if (sub) push('view', sub.id, 'chat', (at += 5_000));
      }
      push('view', q.id, typed ? 'typed' : 'chat', (at += 5_000));
      if (r() < 0.7) push(r() < solve[i]! ? 'resolved' : 'unresolved', q.id, 'chat', (at += 20_000));
    }
    // typed questions that found no single answer
    if (r() < 0.6) push('candidates', '', 'typed', day + 3_600_000);
    if (r() < 0.3) {
      // asked from the top, or after reading a question that did not help
      const after = r() < 0.5 ? '_top' : questions[Math.floor(r() * Math.min(questions.length, 12))]!.id;
      push('unmatched', after, 'typed', day + 4_000_000);
      push('fallback', after, 'typed', day + 4_000_001);
    }
  }
  return rows;
}
