import { execFileSync } from 'node:child_process';
import ExcelJS from 'exceljs';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedDemoTenants } from '../../cli/demo-seed.ts';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import type { TenantStore } from '../../core/tenants.ts';
import { addMonths, monthBounds } from '../../core/time.ts';
import { ReportStore } from '../../reports/index.ts';
import { minutesCreateSchema, tokyoIso } from '../../reports/schemas.ts';
import type { ReportSources } from '../../reports/documents/index.ts';
import type { Harness } from './harness.ts';

/**
 * A sheet's first table (the row whose first cell is 市町 and the rows under it up to the first empty
 * first cell): its column labels and its rows by their first cell, and every row as text (a|b|c).
 */
export async function sheetTable(xlsx: Buffer, sheet: string) {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(xlsx as unknown as ExcelJS.Buffer);
  const ws = wb.getWorksheet(sheet)!;
  let header = 0;
  ws.eachRow((r, n) => {
    if (!header && r.getCell(1).value === '市町') header = n;
  });
  const labels = (ws.getRow(header).values as unknown[]).slice(1).map(String);
  const rows = new Map<string, ExcelJS.Row>();
  for (let n = header + 1; ws.getRow(n).getCell(1).value; n++)
    rows.set(String(ws.getRow(n).getCell(1).value), ws.getRow(n));
  const texts: string[] = [];
  ws.eachRow((r) => texts.push((r.values as unknown[]).slice(1).map(String).join('|')));
  return { wb, ws, labels, rows, texts };
}

/**
 * The harness's fresh ClickHouse with the demo's tenants (the prefecture and its 29 municipalities),
 * for the report document tests: figures are written straight into the tables the dashboard reads.
 */
export async function reportSources(h: Pick<Harness, 'ch' | 'tenants'>): Promise<ReportSources> {
  await seedDemoTenants(h.tenants);
  return { ch: h.ch, tenants: h.tenants, store: new ReportStore(h.ch) };
}

/** Tenants the dashboard fixtures (test/dashboard-fixtures.ts) seed by hand. */
export const HAND_SEEDED = new Set(['24201', '24202', '24562']);

const lastDay = (month: string) => monthBounds(month).to;
const chTime = (day: string, hour = 1) => `${day} ${String(hour).padStart(2, '0')}:00:00.000`;

/**
 * Every other municipality gets figures for each month: LINE's followers at the end of the month
 * before the first and of every month, webhook counts, and two deliveries a month made through
 * Tayori (one to every friend, one to a segment) with LINE's statistics. Values follow the
 * municipality's code and the month, so the tests can compute any of them.
 */
export async function seedMunicipalities(
  ch: ClickHouseClient,
  tenants: TenantStore,
  months: string[],
  skip = HAND_SEEDED,
): Promise<void> {
  const list = (await tenants.list()).filter((t) => t.kind === 'municipality' && !skip.has(t.id));
  const now = chTime(lastDay(months.at(-1)!), 23);
  const followers: Array<Record<string, unknown>> = [];
  const webhooks: Array<Record<string, unknown>> = [];
  const tracked: Array<Record<string, unknown>> = [];
  const stats: Array<Record<string, unknown>> = [];
  const records: Array<Record<string, unknown>> = [];
  for (const { id, population } of list) {
    // 3–9% of the population are friends at the start, and more each month
    const base = Math.round((population ?? 10_000) * (0.03 + (Number(id) % 7) / 100));
    [addMonths(months[0]!, -1), ...months].forEach((month, i) => {
      const friends = base + i * 120;
      followers.push({
        tenant_id: id,
        day: lastDay(month),
        followers: friends,
        targeted_reaches: Math.round(friends * 0.9),
        blocks: 30 + i * 5,
        status: 'ready',
        fetched_at: now,
        version: 1,
      });
    });
    months.forEach((month, i) => {
      webhooks.push({
        tenant_id: id,
        day: `${month}-05`,
        follows: 100 + i,
        unblocks: 3,
        unfollows: 7 + i,
        postbacks: 0,
        messages: 0,
        events: 110,
        users: 100,
        computed_at: now,
      });
      for (const [n, audience] of (['all', 'segment'] as const).entries()) {
        const key = `u-${id}-${month}-${n}`;
        const sent = chTime(`${month}-${10 + n * 10}`);
        const delivered = Math.round((base + i * 120) * (n ? 0.4 : 0.9));
        tracked.push({
          tenant_id: id,
          kind: 'aggregation_unit',
          key,
          sent_at: sent,
          track_until: chTime(`${month}-28`),
          registered_at: sent,
          version: 1,
          is_deleted: 0,
        });
        stats.push({
          tenant_id: id,
          kind: 'aggregation_unit',
          key,
          sent_at: sent,
          fetched_at: now,
          status: 'ready',
          delivered: null,
          unique_impression: Math.round(delivered * (0.4 + n * 0.1 + (Number(id) % 7) / 100)),
          unique_click: Math.round(delivered * 0.05),
          unique_media_played: null,
          unique_media_played_100_percent: null,
          impression: null,
          click: null,
          media_played: null,
          messages: [],
          clicks: [],
          response: '{}',
        });
        records.push({
          tenant_id: id,
          delivery_id: `d-${key}`,
          kind: 'normal',
          title:
            audience === 'all'
              ? `${month.slice(5)}月の健康だより`
              : `${month.slice(5)}月 40歳以上の方へ 特定健診のご案内`,
          messages: '[]',
          audience:
            audience === 'all'
              ? '{"type":"all"}'
              : '{"type":"segment","condition":{"attr":"birth_year","op":"lte","values":["1986"]},"label":"40歳以上"}',
          audience_label: audience === 'all' ? 'すべての友だち' : 'セグメント: 40歳以上',
          aggregation_unit: key,
          status: 'done',
          targets: delivered + 10,
          batches: 1,
          accepted: delivered,
          failed: 10,
          created_at: sent,
          updated_at: sent,
          version: 1,
          is_deleted: 0,
        });
      }
    });
  }
  await ch.insert({ table: 'insight_followers_daily', values: followers, format: 'JSONEachRow' });
  await ch.insert({ table: 'webhook_events_per_day', values: webhooks, format: 'JSONEachRow' });
  await ch.insert({ table: 'insight_tracked_deliveries', values: tracked, format: 'JSONEachRow' });
  await ch.insert({ table: 'insight_message_stats', values: stats, format: 'JSONEachRow' });
  await ch.insert({ table: 'deliveries', values: records, format: 'JSONEachRow' });
}

/** A minutes record as a person enters it (Tokyo times), approved when asked. */
export async function addMinutes(store: ReportStore, input: Record<string, unknown>, approve = false) {
  const m = await store.createMinutes(minutesCreateSchema.parse(input), 'itaku');
  if (!approve) return m;
  return store.changeMinutes(
    m.id,
    'mie-ken',
    undefined,
    () => {},
    (x) => {
      x.status = 'approved';
      x.approvedBy = 'mie-ken';
      x.approvedAt = tokyoIso(Date.now());
      return 'approved';
    },
  );
}

/** The text of a docx's body (word/document.xml with tags removed, paragraphs on lines). */
export function docxText(bytes: Buffer, part = 'word/document.xml'): string {
  const xml = unzip(bytes, part).toString('utf8');
  return xml
    .replace(/<\/w:p>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"');
}

/** Runs `unzip` on the bytes (it needs a file it can seek in). */
function withZip<T>(bytes: Buffer, fn: (file: string) => T): T {
  const file = path.join(os.tmpdir(), `tayori-zip-${randomBytes(6).toString('hex')}.zip`);
  fs.writeFileSync(file, bytes);
  try {
    return fn(file);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** One entry of a zip archive (docx, xlsx), read with `unzip -p`. */
export function unzip(bytes: Buffer, entry: string): Buffer {
  return withZip(bytes, (f) => execFileSync('unzip', ['-p', f, entry], { maxBuffer: 64 * 1024 * 1024 }));
}

/** The entries of a zip archive with their sizes. */
export function zipEntries(bytes: Buffer): Array<{ name: string; size: number }> {
  const out = withZip(bytes, (f) => execFileSync('unzip', ['-l', f]).toString('utf8'));
  return out
    .split('\n')
    .map((l) => /^\s*(\d+)\s+\S+\s+\S+\s+(\S.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ name: m[2]!, size: Number(m[1]) }));
}

/** A PDF's text, read by poppler's pdftotext. */
export function pdfText(bytes: Buffer): string {
  return execFileSync('pdftotext', ['-layout', '-', '-'], { input: bytes }).toString('utf8');
}
