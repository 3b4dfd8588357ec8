/**
 * The whole scenario as an xlsx sheet (「シナリオ」), one row per node, for the 100-Q&A sheet a
 * prefecture provides: the template (headers, an example, a notes sheet), the import (every row
 * checked, errors by row number in Japanese, nothing saved until the sheet is clean) and the export
 * (the same columns, so an exported sheet imports again).
 *
 * CSV (UTF-8 with a BOM) works the same way, for the sheet saved as 「CSV UTF-8」.
 *
 * Columns: ID | 親ID | 種類 | タイトル・質問文 | キーワード | 回答 | 画像URL | リンク | 移動先ID
 */
import ExcelJS from 'exceljs';
import { toCsv } from '../core/csv.ts';
import { AppError } from '../core/errors.ts';
import { type FaqNode, MAX_NODES, nodeSchema, NODE_KIND_LABELS, treeProblems } from './schemas.ts';

export const SHEET = 'シナリオ';
export const HEADERS = [
  'ID',
  '親ID',
  '種類',
  'タイトル・質問文',
  'キーワード',
  '回答',
  '画像URL',
  'リンク',
  '移動先ID',
];
const WIDTHS = [14, 14, 10, 40, 30, 60, 30, 40, 14];
const KINDS: Record<string, FaqNode['kind']> = {
  カテゴリ: 'category',
  カテゴリー: 'category',
  category: 'category',
  質問: 'question',
  question: 'question',
};

export interface RowError {
  row: number;
  message: string;
}
export interface ImportResult {
  nodes: FaqNode[];
  errors: RowError[];
}

/** The nodes as the sheet's rows (the template's columns). */
export function scenarioRows(nodes: FaqNode[]): string[][] {
  return nodes.map((n) => [
    n.id,
    n.parentId,
    NODE_KIND_LABELS[n.kind],
    n.title,
    n.keywords.join('、'),
    n.answer,
    n.imageUrl,
    n.links.map((l) => `${l.label}|${l.url}`).join('\n'),
    n.goTo,
  ]);
}

/** The scenario as CSV (UTF-8 BOM, for Excel), the same columns as the sheet. */
export function scenarioCsv(nodes: FaqNode[]): string {
  return toCsv([HEADERS, ...scenarioRows(nodes)]);
}

/** A sheet (xlsx, a zip: starts with PK) or else CSV. */
export function importFile(data: Buffer): Promise<ImportResult> | ImportResult {
  return data.subarray(0, 2).toString('latin1') === 'PK' ? importXlsx(data) : importCsv(data);
}

function sheetOf(wb: ExcelJS.Workbook, nodes: FaqNode[]): void {
  const ws = wb.addWorksheet(SHEET, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = HEADERS.map((h, i) => ({ header: h, key: `c${i}`, width: WIDTHS[i] }));
  ws.getRow(1).font = { bold: true };
  for (const r of scenarioRows(nodes)) ws.addRow(r);
  for (const c of [6, 8]) ws.getColumn(c).alignment = { wrapText: true, vertical: 'top' };
}

export async function scenarioXlsx(nodes: FaqNode[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Tayori';
  sheetOf(wb, nodes);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** The template: the columns, two example rows and a sheet of notes. */
export async function templateXlsx(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Tayori';
  sheetOf(wb, [
    {
      id: 'gomi',
      parentId: '',
      kind: 'category',
      title: 'ごみ・リサイクル',
      keywords: [],
      answer: '',
      imageUrl: '',
      links: [],
      goTo: '',
    },
    {
      id: 'gomi-sodai',
      parentId: 'gomi',
      kind: 'question',
      title: '粗大ごみの出し方を教えてください',
      keywords: ['粗大ごみ', '大型ごみ'],
      answer: '粗大ごみは事前申込制です。電話またはインターネットでお申し込みください。',
      imageUrl: '',
      links: [{ label: '申込ページ', url: 'https://example.jp/sodai' }],
      goTo: '',
    },
  ]);
  const notes = wb.addWorksheet('記入方法');
  notes.columns = [{ width: 18 }, { width: 90 }];
  for (const r of [
    ['列', '書き方'],
    ['ID', '半角英数字と _ - で 40 文字以内。シート内で重複しないこと (必須)'],
    ['親ID', '上位のカテゴリ・質問の ID。最上位 (メニュー) は空欄'],
    ['種類', '「カテゴリ」または「質問」'],
    ['タイトル・質問文', 'カテゴリ名または質問文。100 文字以内 (必須)'],
    ['キーワード', '入力された質問と照合する語。「、」で区切る (20 個まで)'],
    ['回答', '質問の回答文。2000 文字以内 (質問は 回答 か 移動先ID のどちらかが必須)'],
    ['画像URL', 'https:// で始まる画像の URL (任意)'],
    ['リンク', '「表示名|URL」を 1 行に 1 つ、3 つまで (任意)'],
    ['移動先ID', 'この質問の代わりに表示する別の項目の ID (任意)'],
  ])
    notes.addRow(r);
  notes.getRow(1).font = { bold: true };
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const cellText = (v: ExcelJS.CellValue): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('text' in v) return String(v.text);
    if ('result' in v) return String(v.result ?? '');
    if (v instanceof Date) return v.toISOString();
    return '';
  }
  return String(v);
};

/** Reads a scenario sheet; every problem is reported with its row number. */
export async function importXlsx(data: Buffer): Promise<ImportResult> {
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(data as unknown as ExcelJS.Buffer);
  } catch {
    throw new AppError('invalid_xlsx', 'Excel (xlsx) ファイルとして読み込めません', 400);
  }
  const ws = wb.getWorksheet(SHEET) ?? wb.worksheets[0];
  if (!ws) throw new AppError('invalid_xlsx', 'シートがありません', 400);
  const head = HEADERS.map((_, i) => cellText(ws.getRow(1).getCell(i + 1).value).trim());
  if (head[0] !== 'ID' || head[3] !== 'タイトル・質問文')
    throw new AppError(
      'invalid_xlsx',
      `1 行目は見出し (${HEADERS.join('・')}) にしてください。テンプレートをダウンロードして使えます`,
      400,
    );
  const rows: Array<{ row: number; cells: string[] }> = [];
  const last = Math.min(ws.actualRowCount + 50, ws.rowCount);
  for (let r = 2; r <= last; r++)
    rows.push({ row: r, cells: HEADERS.map((_, i) => cellText(ws.getRow(r).getCell(i + 1).value).trim()) });
  return checkRows(rows);
}

/** Reads a scenario CSV (UTF-8, BOM optional, the template's columns); rows numbered as Excel shows them. */
export function importCsv(data: Buffer): ImportResult {
  const text = data.toString('utf8').replace(/^\uFEFF/, '');
  if (text.includes('\uFFFD'))
    throw new AppError(
      'invalid_csv',
      'CSV を UTF-8 として読み込めません (Excel では「CSV UTF-8」で保存してください)',
      400,
    );
  const records = parseCsv(text);
  const head = (records[0] ?? []).map((c) => c.trim());
  if (head[0] !== 'ID' || head[3] !== 'タイトル・質問文')
    throw new AppError(
      'invalid_csv',
      `1 行目は見出し (${HEADERS.join('・')}) にしてください。テンプレートをダウンロードして使えます`,
      400,
    );
  // the CSV writer neutralises formula-leading text with an apostrophe: taken off again here
  const cell = (c: string | undefined) => (c ?? '').trim().replace(/^'(?=[=+\-@])/, '');
  return checkRows(records.slice(1).map((r, i) => ({ row: i + 2, cells: HEADERS.map((_, k) => cell(r[k])) })));
}

/** RFC 4180 records (quoted fields may hold commas, quotes and line breaks). */
export function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      out.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    out.push(row);
  }
  return out;
}

/** Every row checked; nodes only from a clean row; the tree's problems at the rows they name. */
function checkRows(rows: Array<{ row: number; cells: string[] }>): ImportResult {
  const nodes: FaqNode[] = [];
  const errors: RowError[] = [];
  const rowOf = new Map<string, number>();
  for (const { row: r, cells } of rows) {
    if (cells.every((c) => c === '')) continue;
    if (nodes.length + errors.length >= MAX_NODES) {
      errors.push({ row: r, message: `行が多すぎます (${MAX_NODES} 行まで)` });
      break;
    }
    const [id, parentId, kindText, title, keywords, answer, imageUrl, links, goTo] = cells as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const kind = KINDS[kindText] ?? KINDS[kindText.toLowerCase()];
    if (!kind) {
      errors.push({ row: r, message: `種類「${kindText}」は「カテゴリ」か「質問」にしてください` });
      continue;
    }
    const linkList = links
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const at = l.lastIndexOf('|');
        return at < 0 ? { label: '', url: l } : { label: l.slice(0, at).trim(), url: l.slice(at + 1).trim() };
      });
    const parsed = nodeSchema.safeParse({
      id,
      parentId,
      kind,
      title,
      keywords: keywords
        .split(/[、,，\n]/)
        .map((k) => k.trim())
        .filter(Boolean),
      answer,
      imageUrl,
      links: linkList,
      goTo,
    });
    if (!parsed.success) {
      for (const i of parsed.error.issues) errors.push({ row: r, message: `${label(i.path)}: ${i.message}` });
      continue;
    }
    if (rowOf.has(parsed.data.id)) {
      errors.push({ row: r, message: `ID「${parsed.data.id}」は ${rowOf.get(parsed.data.id)} 行目と重複しています` });
      continue;
    }
    rowOf.set(parsed.data.id, r);
    nodes.push(parsed.data);
  }
  if (!nodes.length && !errors.length) errors.push({ row: 2, message: 'データの行がありません' });
  if (!errors.length) {
    // problems of the tree as a whole, at the row of the node they name
    for (const p of treeProblems(nodes)) {
      const n = nodes.find((x) => p.includes(`「${x.title}」`) || p.includes(`「${x.id}」`));
      errors.push({ row: n ? rowOf.get(n.id)! : 2, message: p });
    }
  }
  errors.sort((a, b) => a.row - b.row);
  return { nodes, errors };
}

const COLUMN_LABELS: Record<string, string> = {
  id: 'ID',
  parentId: '親ID',
  kind: '種類',
  title: 'タイトル・質問文',
  keywords: 'キーワード',
  answer: '回答',
  imageUrl: '画像URL',
  links: 'リンク',
  goTo: '移動先ID',
};
const label = (path: PropertyKey[]) => COLUMN_LABELS[String(path[0])] ?? String(path[0] ?? '行');
