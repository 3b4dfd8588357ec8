// Loads an export into a fresh ClickHouse (the embedded engine, in its own process) from its files
// alone: the manifest's column names and types make each table, each file fills one, every checksum
// is checked first. No Tayori code is used. Prints { counts, checksums, rows: { table: first rows } }.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'chdb';

const [dir, dbDir] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const format = manifest.fileFormat === 'csv' ? 'CSVWithNames' : 'Parquet';
const s = new Session(dbDir);
const q = (sql) => s.query(sql, 'JSONEachRow');
const out = { counts: {}, checksums: true, rows: {} };
for (const t of manifest.tables) {
  const file = path.join(dir, t.file);
  const sum = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  if (sum !== t.sha256) out.checksums = false;
  const cols = t.columns.map((c) => `\`${c.name}\` ${c.type}`).join(', ');
  q(`CREATE TABLE \`${t.name}\` (${cols}) ENGINE = MergeTree ORDER BY tuple()`);
  if (t.rows > 0)
    q(`INSERT INTO \`${t.name}\` SELECT * FROM file('${file}', '${format}', '${cols.replace(/'/g, "\\'")}')`);
  out.counts[t.name] = Number(JSON.parse(q(`SELECT count() AS n FROM \`${t.name}\``).trim()).n);
  out.rows[t.name] = q(`SELECT * FROM \`${t.name}\` LIMIT 5`)
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
s.cleanup?.();
console.log(JSON.stringify(out));
