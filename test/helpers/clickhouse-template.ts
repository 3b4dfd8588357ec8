/**
 * A migrated ClickHouse directory made once per test run (vitest's global set-up, in a process of
 * its own: chDB binds one directory per process) and copied into each suite's data directory, so a
 * file does not apply every migration again (seconds each, ~100 files). The copy is then migrated
 * as usual, which finds nothing to apply; a migration added since is applied on top.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the global set-up left the template (unset: each suite migrates from empty). */
export const TEMPLATE_ENV = 'TAYORI_TEST_CLICKHOUSE_TEMPLATE';

/** Copies the run's migrated template to `target` (a ClickHouse directory not made yet); false without one. */
export function copyClickHouseTemplate(target: string): boolean {
  const template = process.env[TEMPLATE_ENV];
  if (!template || fs.existsSync(target) || !fs.existsSync(template)) return false;
  fs.cpSync(template, target, { recursive: true });
  return true;
}

/** Makes the template in a new temporary directory (in a child process); returns its path and a cleanup. */
export function makeClickHouseTemplate(): { dir: string; remove(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tayori-ch-template-'));
  const dir = path.join(root, 'clickhouse');
  const script = fileURLToPath(new URL('./make-clickhouse-template.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, dir], { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) {
    fs.rmSync(root, { recursive: true, force: true });
    throw new Error(`the migrated ClickHouse template could not be made: ${r.stderr || r.error}`);
  }
  return { dir, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
