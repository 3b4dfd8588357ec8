/**
 * The CSV export of 200k answers: streamed from ClickHouse a page at a time (keyset paging, never the
 * whole result in one read) and read here chunk by chunk; it opens in Excel (BOM, CRLF, a header row)
 * and holds every resident's latest answer once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Survey } from '../../surveys/index.ts';
import { sampleSurvey, type SurveysWorld, surveysWorld, T, TSU } from './fixtures.ts';

const N = 200_000;
let w: SurveysWorld;
let s: Survey;

beforeAll(async () => {
  w = await surveysWorld();
  const r = await w.call<Survey>(
    T.tsuDeliver,
    'POST',
    `/api/v1/surveys/tenants/${TSU}/surveys`,
    sampleSurvey({ anonymous: true }),
  );
  s = r.body;
  // 200k residents' answers in one bulk INSERT (plus 1k older rows of the same residents: the latest wins)
  for (const [from, count, choice] of [
    [0, 1000, 'o1'],
    [0, N, 'o2'],
  ] as const) {
    await w.h.ch.command({
      query: `INSERT INTO survey_answers
        SELECT {t:String}, {s:String}, concat('anon:', leftPad(toString(number), 10, '0')),
               ['uses', 'why', 'score'], [[{c:String}], [], ['4']], ['', if(number % 3 = 0, '=1+1', '子育て支援の充実を'), ''],
               0, 'female', '40代', 'north', now64(3), {v:UInt64} + number
        FROM numbers({from:UInt64}, {count:UInt64})`,
      query_params: { t: TSU, s: s.surveyId, c: choice, v: choice === 'o1' ? 1 : 10_000_000, from, count },
    });
  }
}, 120_000);
afterAll(() => w?.h.close());

it('streams 200k answers as CSV page by page (BOM, header, one row per resident, formulas neutralised)', async () => {
  const ch = w.h.ch;
  const original = ch.query.bind(ch);
  let pages = 0;
  ch.query = ((params: { query: string }) => {
    if (params.query.includes('resident_key > {after:String}')) pages++;
    return original(params as never);
  }) as typeof ch.query;
  let pagesAtFirstChunk = -1;
  try {
    const res = await fetch(`${w.base}/api/v1/surveys/tenants/${TSU}/surveys/${s.surveyId}/answers.csv`, {
      headers: { authorization: `Bearer ${T.tsuDeliver}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    let head = '';
    let lines = 0;
    let chunks = 0;
    let neutralised = 0;
    let carry = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (chunks++ === 0) pagesAtFirstChunk = pages;
      const text = carry + decoder.decode(value, { stream: true });
      if (head.length < 400) head += text.slice(0, 400);
      const parts = text.split('\r\n');
      carry = parts.pop()!;
      lines += parts.length;
      for (const p of parts) if (p.includes(`,"'=1+1",`)) neutralised++;
    }
    expect(carry).toBe('');
    expect(head.charCodeAt(0)).toBe(0xfeff);
    expect(head.slice(1)).toMatch(
      /^回答者 \(匿名の識別子\),状態,回答日時,性別,年代,お住まい,Q1 図書館を利用していますか/,
    );
    expect(lines).toBe(N + 1);
    expect(neutralised).toBe(Math.ceil(N / 3));
    expect(chunks).toBeGreaterThan(10);
  } finally {
    ch.query = original;
  }
  // 10k rows a page: 20 full pages and the empty one that ends it
  expect(pages).toBe(21);
  // the file was on its way before the last pages were read: never the whole file in memory
  expect(pagesAtFirstChunk).toBeGreaterThan(0);
  expect(pagesAtFirstChunk).toBeLessThan(pages);
  const results = await w.surveys.reader.results(s);
  expect(results.complete).toBe(N);
  expect(results.questions[0]!.options.map((o) => o.count)).toEqual([0, N]);
}, 300_000);
