import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import { ConfigError, loadConfig, type Config } from '../core/config.ts';
import { AppError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';

let cached: Config | undefined;
const config = () => (cached ??= loadConfig());

const program = new Command('tayori')
  .description('Tayori (便り) — 自治体の LINE 公式アカウント運用・報告スイート')
  .showHelpAfterError('(--help で使い方を表示します)')
  .exitOverride();

// A command's module is loaded only when that command runs (the suite's modules take seconds to
// load on a small machine); `tayori --help` and unknown words load them all.
const registrars: Record<string, () => Promise<void>> = {
  serve: async () =>
    (await import('./serve-command.ts')).registerServeCommands(program, config, (level) => createLogger(level)),
  db: async () => (await import('./db-command.ts')).registerDbCommand(program, config),
  tenants: async () => (await import('./tenants-command.ts')).registerTenantsCommand(program, config),
  insight: async () => (await import('./insight-command.ts')).registerInsightCommand(program, config),
  users: async () => (await import('./users-command.ts')).registerUsersCommand(program, config),
  sandbox: async () => (await import('./sandbox-command.ts')).registerSandboxCommand(program),
  report: async () => (await import('./report-command.ts')).registerReportCommand(program, config),
  ingest: async () => (await import('./ingest-command.ts')).registerIngestCommand(program, config),
  backup: async () => (await import('./ops-command.ts')).registerOpsCommands(program, config),
  mail: async () => (await import('./mail-command.ts')).registerMailCommand(program, config),
};
// words whose commands another registrar adds
const aliases: Record<string, string> = { demo: 'serve', minutes: 'report', issues: 'report', export: 'backup' };

try {
  const word = process.argv[2] ?? '';
  const one = registrars[aliases[word] ?? word];
  if (one) await one();
  else for (const load of Object.values(registrars)) await load();
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = report(e);
}

function report(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode;
  if (e instanceof ConfigError || e instanceof AppError) {
    console.error(`エラー: ${e.message}`);
    return 1;
  }
  if (e instanceof ZodError) {
    console.error(
      `エラー: 入力内容に誤りがあります: ${e.issues.map((i) => `${i.path.join('.') || '(全体)'} — ${i.message}`).join(' / ')}`,
    );
    return 1;
  }
  console.error(`エラー: ${(e as Error)?.message ?? String(e)}`);
  if (process.env.LOG_LEVEL === 'debug') console.error(e);
  return 1;
}
