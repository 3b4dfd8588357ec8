import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { loadQueries, sqlDir } from '../../core/sql.ts';
import { compileCondition } from '../../delivery/audience.ts';
import { readBatchLines } from '../../delivery/audience-batches.ts';
import { harness, repoRoot, type Harness } from '../helpers/index.ts';

// listmonk's rule: a named query that does not parse, or a name the code uses that no file defines,
// is a failure before start, not a surprise at first use.
const queries = loadQueries(path.join(sqlDir, 'queries'));
let h: Harness;
let ch: ClickHouseClient;
beforeAll(async () => {
  h = await harness();
  ch = h.ch;
});
afterAll(() => h?.close());

/** A value of each parameter's type, so the statement can be planned against the real schema. */
function sampleParams(query: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [, name, type] of query.matchAll(/\{(\w+):([^}]+)\}/g)) {
    const t = type!.trim();
    out[name!] = /^Array\(/.test(t)
      ? []
      : /Int|Float|Decimal|Bool/.test(t)
        ? 0
        : /^Date$/.test(t)
          ? '2026-04-01'
          : /^DateTime/.test(t)
            ? '2026-04-01 00:00:00'
            : /^Identifier$/.test(t)
              ? 'tenants'
              : '2026-04-01'; // a String that toDate() also reads
  }
  return out;
}

/** All TypeScript outside node_modules, tests included (bench and test helpers use named queries too). */
function allCode(): string {
  const parts: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!['node_modules', 'data', '.git', '.tools'].includes(e.name)) walk(p);
      } else if (p.endsWith('.ts') && !p.endsWith('named-queries.test.ts')) parts.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(repoRoot);
  return parts.join('\n');
}

/**
 * Files of code that name queries: every `sql('…')`-style literal that looks like `folder.name`,
 * also as the second argument after a client (`query(this.ch, '…', …)`).
 */
function namesUsedInCode(): Map<string, string> {
  const used = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!['node_modules', 'data', '.git', '.tools', 'test'].includes(e.name)) walk(p);
      } else if (p.endsWith('.ts')) {
        const text = fs.readFileSync(p, 'utf8');
        for (const m of text.matchAll(
          /\b(?:sql|rows|query|one|exec|command|named)\(\s*(?:[\w.#]+,\s*)?'([a-z_]+\.[a-z0-9_]+)'/g,
        ))
          used.set(m[1]!, path.relative(repoRoot, p));
      }
    }
  };
  walk(repoRoot);
  return used;
}

// Templates with {{markers}} are checked the way delivery fills them, run on the (empty) schema.
const segment = (range: boolean) =>
  compileCondition(
    {
      or: [
        { attr: 'gender', op: 'in', values: ['female'] },
        { not: { attr: 'birth_year', op: 'between', min: 1950, max: 1980 } },
      ],
    },
    { range },
  );
const TEMPLATES: Record<string, () => Promise<unknown>> = {
  'delivery.audience_batches': () =>
    readBatchLines(ch, 'delivery.audience_page', { tenant: '24201', after: '', limit: 10 }),
  'delivery.audience_segment_range': () => {
    const c = segment(true);
    return readBatchLines(
      ch,
      'delivery.audience_segment_range',
      { tenant: '24201', after: '', upto: 'V', ...c.params },
      c.sql,
    );
  },
  'delivery.segment_leaf': () => TEMPLATES['delivery.audience_segment_range']!(),
  'delivery.audience_count_segment': async () => {
    const c = segment(false);
    const query = queries.get('delivery.audience_count_segment')!.replaceAll('{{segment}}', c.sql);
    return (await ch.query({ query, query_params: { tenant: '24201', ...c.params }, format: 'JSONEachRow' })).json();
  },
  // delivery/rich-menus/ fills {{segment}} with a compiled segment, as the audience count does
  'rich_menus.segment_members': async () => {
    const c = segment(false);
    const query = queries.get('rich_menus.segment_members')!.replaceAll('{{segment}}', c.sql);
    return (
      await ch.query({ query, query_params: { tenant: '24201', user: '', ...c.params }, format: 'JSONEachRow' })
    ).json();
  },
  // surveys/results.ts fills {{dim}} from a fixed list of survey_answers' attribute columns
  'surveys.crosstab': () => byDimension('surveys.crosstab'),
  'surveys.group_sizes': () => byDimension('surveys.group_sizes'),
};

async function byDimension(name: string): Promise<void> {
  for (const dim of ['gender', 'age_group', 'residence']) {
    const query = queries.get(name)!.replaceAll('{{dim}}', dim);
    await (await ch.query({ query, query_params: { tenant: '24201', survey: 's' }, format: 'JSONEachRow' })).json();
  }
}

describe('named queries (sql/queries)', () => {
  it('has queries to check', () => expect(queries.size).toBeGreaterThan(50));

  it.each([...queries.keys()])('%s parses and plans against the migrated schema', async (name) => {
    const query = queries.get(name)!;
    if (query.includes('{{')) {
      expect(TEMPLATES[name], `${name} has {{markers}}: say in TEMPLATES how the code fills them`).toBeDefined();
      await TEMPLATES[name]!();
      return;
    }
    const head = query
      .replace(/^\s*(--[^\n]*\n\s*)*/, '')
      .slice(0, 20)
      .toUpperCase();
    const plannable = head.startsWith('SELECT') || head.startsWith('WITH');
    // statements ClickHouse cannot EXPLAIN beyond their syntax (INSERT, ALTER, DROP …) are parsed only
    const rs = await ch.query({
      query: `EXPLAIN ${plannable ? 'PLAN' : 'AST'} ${query}`,
      query_params: sampleParams(query),
      format: 'TabSeparated',
    });
    expect((await rs.text()).length).toBeGreaterThan(0);
  });

  it('every name the code uses is defined', () => {
    const used = namesUsedInCode();
    expect(used.size).toBeGreaterThan(20);
    const missing = [...used].filter(([name]) => !queries.has(name)).map(([n, f]) => `${n} (${f})`);
    expect(missing).toEqual([]);
  });

  it('every named query is used somewhere (no dead SQL)', () => {
    const code = allCode();
    const unused = [...queries.keys()].filter((name) => !code.includes(`'${name}'`) && !code.includes(`\`${name}\``));
    expect(unused).toEqual([]);
  });
});
