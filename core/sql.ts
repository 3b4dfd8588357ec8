import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the plain .sql files (sql/migrations, sql/queries). */
export const sqlDir = fileURLToPath(new URL('../sql/', import.meta.url));

let queries: Map<string, string> | undefined;

/**
 * Named queries, listmonk-style: every file in sql/queries holds blocks that start with
 * `-- name: some.name`; code refers to a statement by its name.
 */
export function sql(name: string): string {
  queries ??= loadQueries(path.join(sqlDir, 'queries'));
  const q = queries.get(name);
  if (q === undefined) throw new Error(`no named query '${name}' in sql/queries`);
  return q;
}

export function loadQueries(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    let name: string | undefined;
    let body: string[] = [];
    const flush = () => {
      if (!name) return;
      if (out.has(name)) throw new Error(`named query '${name}' is defined twice (${file})`);
      out.set(name, body.join('\n').trim().replace(/;\s*$/, ''));
    };
    for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
      const m = /^--\s*name:\s*(\S+)\s*$/.exec(line);
      if (m) {
        flush();
        name = m[1];
        body = [];
      } else if (name) {
        body.push(line);
      }
    }
    flush();
  }
  return out;
}

/** Splits a migration file into statements: on `;` at a line's end, comments dropped. */
export function splitStatements(text: string): string[] {
  const lines = text.split('\n').filter((l) => !/^\s*--/.test(l));
  return lines
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
