/**
 * A survey's answers as files: CSV (UTF-8 BOM, CRLF, one row per resident's latest answer, formula
 * text neutralised by core/csv.ts) streamed page by page from ClickHouse, and xlsx (exceljs) with a
 * summary sheet (counts and shares per option, each choice question's chart as a picture) and a
 * raw sheet. Identified surveys carry the LINE user id: the route asks for 住民データの出力
 * (export_residents) for those.
 */
import ExcelJS from 'exceljs';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { CSV_BOM, csvLine } from '../core/csv.ts';
import { builtinOptionLabel } from '../core/vocabulary.ts';
import { tokyoMinute } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { surveyChartPng } from './chart-png.ts';
import { optionCountsOptions } from './charts.ts';
import type { SurveyResultsReader } from './results.ts';
import { OTHER, optionsOf, type Question, type Survey } from './schemas.ts';

const PAGE = 10_000;

const exportRow = z.object({
  resident_key: z.string(),
  partial: z.coerce.number(),
  question_ids: z.array(z.string()),
  choices: z.array(z.array(z.string())),
  texts: z.array(z.string()),
  gender: z.string(),
  age_group: z.string(),
  residence: z.string(),
  answered_ms: z.coerce.number(),
});
type ExportRow = z.infer<typeof exportRow>;

/** Every latest answer, a page at a time (keyset over the resident key). */
export async function* answerPages(ch: ClickHouseClient, s: Survey, page = PAGE): AsyncGenerator<ExportRow[]> {
  let after = '';
  for (;;) {
    const rows = await query(
      ch,
      'surveys.export_rows',
      { tenant: s.tenantId, survey: s.surveyId, after, limit: page },
      exportRow,
    );
    if (rows.length) yield rows;
    if (rows.length < page) return;
    after = rows[rows.length - 1]!.resident_key;
  }
}

/** The header of the raw rows. */
export function exportHeader(s: Survey): string[] {
  return [
    s.anonymous ? '回答者 (匿名の識別子)' : 'LINE ユーザー ID',
    '状態',
    '回答日時',
    '性別',
    '年代',
    'お住まい',
    ...s.questions.map((q, i) => `Q${i + 1} ${q.text}`),
  ];
}

function cell(q: Question, qids: string[], choices: string[][], texts: string[]): string {
  const i = qids.indexOf(q.id);
  if (i < 0) return '';
  const opts = optionsOf(q);
  const chosen = (choices[i] ?? []).map((c) =>
    c === OTHER ? `その他: ${texts[i] ?? ''}` : (opts.find((o) => o.id === c)?.label ?? c),
  );
  if (chosen.length) return chosen.join(' / ');
  return texts[i] ?? '';
}

/** One raw row: the resident (id or pseudonym), state, time (Tokyo), attributes, each question's answer. */
export function exportCells(s: Survey, r: ExportRow, areas: Map<string, string>): Array<string | number> {
  return [
    r.resident_key,
    r.partial ? '回答途中' : '回答済み',
    tokyoMinute(r.answered_ms),
    r.gender ? (builtinOptionLabel('gender', r.gender) ?? r.gender) : '',
    r.age_group,
    r.residence ? (areas.get(r.residence) ?? r.residence) : '',
    ...s.questions.map((q) => cell(q, r.question_ids, r.choices, r.texts)),
  ];
}

/** The CSV's chunks: BOM and header first, then one chunk per page of rows. */
export async function* answersCsv(
  ch: ClickHouseClient,
  s: Survey,
  areas: Map<string, string>,
  opts: { page?: number } = {},
): AsyncGenerator<string> {
  yield CSV_BOM + csvLine(exportHeader(s));
  for await (const rows of answerPages(ch, s, opts.page)) {
    let chunk = '';
    for (const r of rows) chunk += csvLine(exportCells(s, r, areas));
    yield chunk;
  }
}

/** The xlsx: 集計 (counts and shares per option with their charts, answers per day) and 回答一覧 (the raw rows). */
export async function answersXlsx(
  ch: ClickHouseClient,
  s: Survey,
  reader: SurveyResultsReader,
  areas: Map<string, string>,
): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Tayori';
  const results = await reader.results(s);
  const sum = wb.addWorksheet('集計');
  sum.addRow([s.title]).font = { bold: true, size: 14 };
  sum.addRow(['回答済み', results.complete, '回答途中', results.partial]);
  sum.addRow([]);
  for (const [i, q] of results.questions.entries()) {
    if (!q.options.length) continue;
    const top = sum.addRow([`Q${i + 1} ${q.text}`]);
    top.font = { bold: true };
    sum.addRow(['選択肢', '回答数', '割合 (%)']);
    for (const o of q.options) sum.addRow([o.label, o.count, o.share]);
    // the question's chart beside its table (column E)
    const height = Math.max(160, 70 + 36 * q.options.length);
    const png = await surveyChartPng(optionCountsOptions(q, i + 1), { width: 520, height });
    if (png) {
      const id = wb.addImage({ buffer: png as unknown as ExcelJS.Buffer, extension: 'png' });
      sum.addImage(id, { tl: { col: 4, row: top.number - 1 }, ext: { width: 520, height } });
      // room for the picture: rows below the table until its height is covered
      const rows = Math.ceil(height / 20) - q.options.length - 1;
      for (let k = 0; k < rows; k++) sum.addRow([]);
    }
    sum.addRow([]);
  }
  sum.addRow(['日別の回答数']).font = { bold: true };
  sum.addRow(['日付', '回答数']);
  for (const d of results.daily) sum.addRow([d.day, d.count]);
  sum.getColumn(1).width = 40;
  const raw = wb.addWorksheet('回答一覧');
  raw.addRow(exportHeader(s)).font = { bold: true };
  for await (const rows of answerPages(ch, s)) for (const r of rows) raw.addRow(exportCells(s, r, areas));
  return Buffer.from(await wb.xlsx.writeBuffer());
}
