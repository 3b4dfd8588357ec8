import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/index.ts';

// The one-way layout of ../shared/DESIGN.md and the README: which top folder may import which.
// core/ is the base; metrics/ computes figures and charts from ClickHouse; capabilities (ingest,
// delivery, reports and those to come) build on core and metrics; dashboard/ is the shell;
// cli/ composes the running suite; bench/ measures it. A new folder must be added here.
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: [],
  metrics: ['core'],
  sandbox: ['core'],
  ingest: ['core'],
  delivery: ['core', 'ingest'],
  reports: ['core', 'metrics'],
  dashboard: ['core', 'metrics'],
  mileage: ['core', 'metrics', 'ingest', 'delivery'],
  surveys: ['core', 'metrics', 'ingest', 'delivery'],
  faq: ['core', 'metrics', 'ingest', 'delivery'],
  cards: ['core', 'metrics', 'ingest', 'delivery'],
  ops: ['core', 'metrics'],
  cli: [
    'core',
    'metrics',
    'sandbox',
    'ingest',
    'delivery',
    'reports',
    'dashboard',
    'mileage',
    'surveys',
    'faq',
    'cards',
    'ops',
  ],
  bench: [
    'core',
    'metrics',
    'sandbox',
    'ingest',
    'delivery',
    'reports',
    'dashboard',
    'cli',
    'mileage',
    'surveys',
    'faq',
    'cards',
    'ops',
  ],
};
/** Folders that are not code of the suite (tests may import anything; sql/ holds no TypeScript). */
const OUTSIDE = new Set(['test', 'node_modules', 'data', 'sql', 'script', 'bin', 'test-artifacts', '.git', '.tools']);

interface Import {
  from: string;
  to: string;
  spec: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every relative import (static, dynamic, re-export) between files of the suite's folders. */
function imports(): Import[] {
  const out: Import[] = [];
  for (const top of fs.readdirSync(repoRoot, { withFileTypes: true })) {
    if (!top.isDirectory() || OUTSIDE.has(top.name) || top.name.startsWith('.')) continue;
    for (const file of sourceFiles(path.join(repoRoot, top.name))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = path.relative(repoRoot, path.resolve(path.dirname(file), m[1]!));
        out.push({ from: path.relative(repoRoot, file), to: target, spec: m[1]! });
      }
    }
  }
  return out;
}

const folderOf = (p: string) => p.split(path.sep)[0]!;

describe('imports run one way', () => {
  const all = imports();

  it('finds the imports it judges', () => expect(all.length).toBeGreaterThan(300));

  it('every top folder with code is in the table', () => {
    const folders = new Set(all.map((i) => folderOf(i.from)));
    expect([...folders].filter((f) => !(f in MAY_IMPORT))).toEqual([]);
  });

  it('no folder imports one it may not (so there is no cycle between folders)', () => {
    const bad = all
      .filter((i) => folderOf(i.to) !== folderOf(i.from))
      .filter((i) => !(MAY_IMPORT[folderOf(i.from)] ?? []).includes(folderOf(i.to)))
      .map((i) => `${i.from} → ${i.to}`);
    expect(bad).toEqual([]);
  });

  it('the table itself has no cycle', () => {
    const seen = new Set<string>();
    const visit = (f: string, trail: string[]): string | undefined => {
      if (trail.includes(f)) return [...trail, f].join(' → ');
      if (seen.has(f)) return undefined;
      for (const g of MAY_IMPORT[f] ?? []) {
        const c = visit(g, [...trail, f]);
        if (c) return c;
      }
      seen.add(f);
      return undefined;
    };
    expect(
      Object.keys(MAY_IMPORT)
        .map((f) => visit(f, []))
        .filter(Boolean),
    ).toEqual([]);
  });

  it("a capability is reached through its index.ts (core's modules are the base and are imported one by one)", () => {
    const bad = all
      .filter((i) => folderOf(i.to) !== folderOf(i.from) && folderOf(i.to) !== 'core')
      .filter((i) => !['cli', 'bench'].includes(folderOf(i.from)))
      .filter((i) => i.to !== path.join(folderOf(i.to), 'index.ts'))
      // browser code cannot take an index.ts that pulls server modules in: the chart text escaping is
      // one plain module shared by the browser and metrics' SVG renderer
      .filter((i) => i.to !== path.join('metrics', 'chart-text.js'))
      .map((i) => `${i.from} → ${i.to}`);
    expect(bad).toEqual([]);
  });
});
