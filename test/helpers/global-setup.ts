/** vitest's global set-up: the run's migrated ClickHouse template (see clickhouse-template.ts). */
import { makeClickHouseTemplate, TEMPLATE_ENV } from './clickhouse-template.ts';

export default function setup(): (() => void) | undefined {
  // TAYORI_TEST_TEMPLATE=off: every suite migrates from empty (to compare, or to rule the copy out)
  if (process.env.TAYORI_TEST_TEMPLATE === 'off') return undefined;
  const template = makeClickHouseTemplate();
  // inherited by the worker processes, started after this
  process.env[TEMPLATE_ENV] = template.dir;
  return () => template.remove();
}
