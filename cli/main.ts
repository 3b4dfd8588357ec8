import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import { ConfigError, loadConfig, type Config } from '../core/config.ts';
import { AppError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { registerDbCommand } from './db-command.ts';
import { registerInsightCommand } from './insight-command.ts';
import { registerSandboxCommand } from './sandbox-command.ts';
import { registerServeCommands } from './serve-command.ts';
import { registerTenantsCommand } from './tenants-command.ts';
import { registerUsersCommand } from './users-command.ts';

let cached: Config | undefined;
const config = () => (cached ??= loadConfig());

const program = new Command('tayori')
  .description('Tayori (便り) — 自治体の LINE 公式アカウント運用・報告スイート')
  .showHelpAfterError('(--help で使い方を表示します)')
  .exitOverride();

registerServeCommands(program, config, (level) => createLogger(level));
registerDbCommand(program, config);
registerTenantsCommand(program, config);
registerInsightCommand(program, config);
registerUsersCommand(program, config);
registerSandboxCommand(program);

try {
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
    console.error(`エラー: 入力内容に誤りがあります: ${e.issues.map((i) => `${i.path.join('.') || '(全体)'} — ${i.message}`).join(' / ')}`);
    return 1;
  }
  console.error(`エラー: ${(e as Error)?.message ?? String(e)}`);
  if (process.env.LOG_LEVEL === 'debug') console.error(e);
  return 1;
}
