import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chDateTime, tokyoMonthRange } from '../../core/time.ts';
import { FaqStatsReader } from '../../faq/index.ts';
import { FAQ_FIGURES, MISSING_REASONS, Metrics, type FaqMonth } from '../../metrics/index.ts';
import { buildMonthlyPackage, type ReportFile, type ReportSources } from '../../reports/documents/index.ts';
import { harness, type Harness } from '../helpers/index.ts';
import { docxText, pdfText, reportSources, sheetTable, zipEntries } from '../helpers/report-documents-fixtures.ts';

// The monthly KPI report's FAQ figures (Excel sheet FAQ, Word and PDF section with its chart) for
// hand-made FAQ events of June 2025: every Excel cell equals a direct count of faq_events for the Tokyo
// month, 津市's equal what the FAQ's statistics (page and API) answer for the same period, and the
// hand-worked figures show, the month's edges in Tokyo time included.
let h: Harness;
let src: ReportSources;
let files: ReportFile[];
let faq: FaqMonth;
const MONTH = '2025-06';
const NOW = new Date('2025-07-01T00:30:00Z');
const TSU = '24201';
const YOKKAICHI = '24202';
const KEYS = ['views', 'yes', 'no', 'rate', 'unmatched', 'fallback', 'ai'] as const;

const q = (id: string, parentId: string, title: string, kind = 'question') => ({
  id,
  parentId,
  kind,
  title,
  keywords: [],
  answer: kind === 'question' ? '回答' : '',
  imageUrl: '',
  links: [],
  goTo: '',
});
const NODES = [
  q('gomi', '', 'ごみ・リサイクル', 'category'),
  q('gomi-days', 'gomi', 'ごみの収集日を知りたい'),
  q('hinan', '', '避難所の場所'),
];

let seq = 0;
const ev = (tenant: string, kind: string, node: string, at: string, id = `e${++seq}`) => ({
  tenant_id: tenant,
  at: chDateTime(Date.parse(at)),
  kind,
  node_id: node,
  via: 'chat',
  event_id: id,
});
const times = (n: number, f: (i: number) => ReturnType<typeof ev>) => Array.from({ length: n }, (_, i) => f(i));

async function seedFaq(ch: Harness['ch']) {
  await ch.insert({
    table: 'faq_versions',
    format: 'JSONEachRow',
    values: [
      {
        tenant_id: TSU,
        number: 2,
        nodes: JSON.stringify(NODES),
        note: '',
        published_by: 't',
        published_at: '2025-05-01 00:00:00.000',
      },
    ],
  });
  await ch.insert({
    table: 'faq_live',
    format: 'JSONEachRow',
    values: [{ tenant_id: TSU, number: 2, changed_by: 't', changed_at: '2025-05-01 00:00:00.000', version: 1 }],
  });
  const day = (d: number, h = 3) => `2025-06-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`;
  await ch.insert({
    table: 'faq_events',
    format: 'JSONEachRow',
    values: [
      // 津市: ごみの収集日 5 views in June, one at 00:30 on 1 June in Tokyo (still 31 May in UTC),
      // one at 00:30 on 1 July in Tokyo (outside); はい 3, いいえ 1; 避難所 2 views, いいえ 1
      ...times(5, (i) => ev(TSU, 'view', 'gomi-days', day(i + 2))),
      ev(TSU, 'view', 'gomi-days', '2025-05-31T15:30:00Z'),
      ev(TSU, 'view', 'gomi-days', '2025-06-30T15:30:00Z'),
      ev(TSU, 'view', 'gomi-days', '2025-05-31T14:30:00Z'), // 23:30 on 31 May in Tokyo: outside
      ...times(3, (i) => ev(TSU, 'resolved', 'gomi-days', day(i + 2, 4))),
      ev(TSU, 'unresolved', 'gomi-days', day(10)),
      ...times(2, (i) => ev(TSU, 'view', 'hinan', day(i + 11))),
      ev(TSU, 'unresolved', 'hinan', day(12), 'dup'),
      ev(TSU, 'unresolved', 'hinan', day(12), 'dup'), // the same event again: counted once
      ev(TSU, 'view', 'gomi', day(13)),
      // typed questions nothing matched: 4 (after ごみの収集日 2, from the top 2), 3 to the fallback,
      // 1 answered by the AI (its view and はい apart from the scenario's)
      ...times(2, (i) => ev(TSU, 'unmatched', 'gomi-days', day(i + 14))),
      ...times(2, (i) => ev(TSU, 'unmatched', '_top', day(i + 16))),
      ...times(2, (i) => ev(TSU, 'fallback', 'gomi-days', day(i + 14))),
      ev(TSU, 'fallback', '_top', day(16)),
      ev(TSU, 'ai', '_top', day(17)),
      ev(TSU, 'view', '_ai', day(17)),
      ev(TSU, 'resolved', '_ai', day(17, 5)),
      ev(TSU, 'candidates', '', day(18)),
      // 四日市市: views of a node of no published scenario, one いいえ
      ...times(2, (i) => ev(YOKKAICHI, 'view', 'x1', day(i + 20))),
      ev(YOKKAICHI, 'unresolved', 'x1', day(22)),
    ],
  });
}

const file = (kind: string) => files.find((f) => f.kind === kind)!;

beforeAll(async () => {
  h = await harness();
  src = await reportSources(h);
  await seedFaq(src.ch);
  files = await buildMonthlyPackage(src, MONTH, { now: NOW });
  faq = await new Metrics(src.ch, src.tenants).faq(
    (await src.tenants.list()).map((t) => t.id),
    MONTH,
  );
}, 180_000);

afterAll(() => h?.close());

const faqSheet = () => sheetTable(file('kpi-xlsx').bytes, 'FAQ');

/** A direct count over faq_events for each tenant and the Tokyo month (not the metrics' query). */
async function directCounts(): Promise<Map<string, Record<string, number>>> {
  const rs = await src.ch.query({
    query: `SELECT tenant_id,
        countIf(kind = 'view' AND node_id != '_ai') AS views, countIf(kind = 'resolved' AND node_id != '_ai') AS yes,
        countIf(kind = 'unresolved' AND node_id != '_ai') AS no, countIf(kind = 'unmatched') AS unmatched,
        countIf(kind = 'fallback') AS fallback, countIf(kind = 'ai') AS ai
      FROM (SELECT DISTINCT tenant_id, kind, node_id, at, event_id FROM faq_events)
      WHERE toYYYYMM(at, 'Asia/Tokyo') = 202506 GROUP BY tenant_id`,
    format: 'JSONEachRow',
  });
  const out = new Map<string, Record<string, number>>();
  for (const r of (await rs.json()) as Array<Record<string, string | number>>)
    out.set(String(r.tenant_id), Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])));
  return out;
}

describe('monthly KPI report: the FAQ', () => {
  it('Excel: a row per municipality and the prefecture-wide total, every cell equal to a direct count', async () => {
    const { labels, rows } = await faqSheet();
    expect(labels).toEqual(['市町', ...KEYS.map((k) => `${FAQ_FIGURES[k].label}\n(${FAQ_FIGURES[k].unit})`)]);
    const list = await src.tenants.list();
    const municipalities = list.filter((t) => t.kind === 'municipality').map((t) => t.name);
    const others = list.filter((t) => t.kind !== 'municipality').map((t) => t.name);
    expect([...rows.keys()]).toEqual([...municipalities, ...others, '県全体']);
    const direct = await directCounts();
    const sum: Record<string, number> = { views: 0, yes: 0, no: 0, unmatched: 0, fallback: 0, ai: 0 };
    for (const t of list) {
      const row = rows.get(t.name)!;
      const d = direct.get(t.id) ?? { views: 0, yes: 0, no: 0, unmatched: 0, fallback: 0, ai: 0 };
      for (const k of Object.keys(sum)) sum[k]! += d[k]!;
      KEYS.forEach((k, i) => {
        const want = k === 'rate' ? (d.yes! + d.no! ? d.yes! / (d.yes! + d.no!) : null) : d[k];
        expect(row.getCell(i + 2).value ?? null, `${t.name} ${k}`).toBe(want);
      });
    }
    const total = rows.get('県全体')!;
    KEYS.forEach((k, i) =>
      expect(total.getCell(i + 2).value, k).toBe(k === 'rate' ? sum.yes! / (sum.yes! + sum.no!) : sum[k]),
    );
  });

  it('Excel: 津市 as worked by hand and as the FAQ statistics answer; a rate nobody answered for is empty with the reason', async () => {
    const { rows } = await faqSheet();
    const tsu = rows.get('津市')!;
    const cells = KEYS.map((_, i) => tsu.getCell(i + 2).value);
    expect(cells).toEqual([9, 3, 2, 0.6, 4, 3, 1]);
    expect(tsu.getCell(2).numFmt).toBe('#,##0');
    expect(tsu.getCell(5).numFmt).toBe('0.0%');
    // the FAQ's statistics page and API for the same Tokyo month
    const { from, to } = tokyoMonthRange(MONTH);
    const s = await new FaqStatsReader(src.ch, src.tenants).stats(TSU, NODES as never, from, to);
    expect([s.totals.views, s.totals.yes, s.totals.no, s.totals.rate]).toEqual(cells.slice(0, 4));
    expect([s.kinds.unmatched, s.kinds.fallback, s.kinds.ai]).toEqual(cells.slice(4));
    expect(s.ai).toMatchObject({ views: 1, yes: 1 });
    const ise = rows.get('伊勢市')!;
    expect(ise.getCell(2).value).toBe(0);
    expect(ise.getCell(5).value).toBeNull();
    expect(String(ise.getCell(5).note)).toContain(MISSING_REASONS.no_denominator);
    expect(faq.totals).toMatchObject({ views: 11, yes: 3, no: 3, unmatched: 4, fallback: 3, ai: 1, published: 1 });
  });

  it('Excel: the month’s top questions with their titles, and the chart on the sheet', async () => {
    const { wb, ws, texts } = await faqSheet();
    expect(texts).toContain('1|津市|ごみの収集日を知りたい|6|3|1|0.75');
    expect(texts).toContain('2|津市|避難所の場所|2|0|1|0');
    expect(texts).toContain('3|四日市市|(削除された項目 x1)|2|0|1|0');
    expect(texts.some((t) => t.startsWith('1|津市|ごみ・リサイクル'))).toBe(false);
    expect(ws.getImages()).toHaveLength(1);
    const defs: string[] = [];
    wb.getWorksheet('定義')!.eachRow((r) => defs.push(String(r.getCell(2).value)));
    expect(defs).toContain(FAQ_FIGURES.fallback.definition);
  });

  it('Word and PDF: the section with the sentences, the table, the top questions and the chart', () => {
    const docx = file('kpi-docx').bytes;
    const word = docxText(docx);
    const pdf = pdfText(file('kpi-pdf').bytes);
    for (const text of [word, pdf.replace(/\s+/g, ' ')]) {
      expect(text).toContain('よくある質問 (FAQ チャットボット)');
      expect(text).toContain('表示回数は 11 回');
      expect(text).toContain('はい 3 件・いいえ 3 件');
      expect(text).toContain('解決率は 50.0%');
      expect(text).toContain('AI が回答したものは 1 件');
      expect(text).toContain('ごみの収集日を知りたい');
    }
    expect(word).toContain('市町別の FAQ「解決しましたか？」への回答 (令和7年6月)');
    expect(word.indexOf('よくある質問 (FAQ チャットボット)')).toBeLessThan(word.indexOf('3. グラフ'));
    // one more image than the package draws without FAQ use (the FAQ's chart)
    const media = zipEntries(docx).filter((e) => e.name.startsWith('word/media/'));
    const images = execFileSync('pdfimages', ['-list', '-'], { input: file('kpi-pdf').bytes })
      .toString('utf8')
      .split('\n')
      .slice(2)
      .filter((l) => l.trim());
    expect(images.length).toBe(media.length);
    const captions = [...word.matchAll(/図(\d+) /g)].map((m) => Number(m[1]));
    expect(captions).toEqual(captions.map((_, i) => i + 1));
    expect(word).toMatch(/図\d+ 市町別の FAQ/);
  });
});
