import type { Command } from 'commander';
import type { Config } from '../core/config.ts';
import { HEAP_FLAG, heapSizeConfigured } from '../core/heap.ts';
import type { Logger } from '../core/logger.ts';
import type { Suite } from './suite.ts';

/** `tayori demo` and `tayori serve`: run the suite in this process until Ctrl-C or SIGTERM. */
export function registerServeCommands(program: Command, config: () => Config, logger: (level: string) => Logger): void {
  program
    .command('demo')
    .description('デモ: 三重県と 29 市町をサンドボックスにつないで、スイート全体を起動します')
    .action(() => run(config(), logger, true));
  program
    .command('serve')
    .description('スイート全体 (API・画面・取り込み・配信・帳票) を起動します')
    .action(() => run(config(), logger, false));
}

async function run(config: Config, makeLogger: (level: string) => Logger, demo: boolean): Promise<void> {
  const log = makeLogger(config.logLevel);
  if (!heapSizeConfigured())
    log.warn(
      { flag: HEAP_FLAG },
      'node started without an initial heap size: large deliveries will spend CPU on needless full collections (npx tayori and the npm scripts pass it)',
    );
  let suite: Suite | undefined;
  let stopping = false;
  const stop = async (why: string, code: number) => {
    if (stopping) {
      if (code === 0) {
        console.error('強制終了します');
        process.exit(130);
      }
      return;
    }
    stopping = true;
    if (code === 0) console.log(`\n${why} を受け取りました。停止しています…`);
    else
      console.error(`\n予期しないエラーのため停止しています (${why})。受け付け済みのデータを保存してから終了します…`);
    await suite?.close();
    if (code === 0) console.log('停止しました');
    process.exit(code);
  };
  // A promise nobody awaited: logged, the suite keeps serving. An exception nobody caught: the state
  // of the process is unknown, so it stops through the ordered shutdown (what was acknowledged is
  // flushed) rather than dying mid-write; a supervisor (systemd, the container) starts it again.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err, origin) => {
    log.fatal({ err, origin }, 'uncaught exception: shutting down in order');
    void stop('uncaughtException', 1);
  });
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));

  // the suite's modules load here, not when the CLI starts: `tayori --help` stays quick
  const { startSuite } = await import('./suite.ts');
  suite = await startSuite(config, log, { demo, say: (line) => console.log(line) });
  if (stopping) return;
  const where =
    config.clickhouse.kind === 'embedded'
      ? `組み込み ClickHouse (${config.clickhouse.path})`
      : `ClickHouse ${config.clickhouse.url}`;
  const sandbox = suite.sandbox
    ? `\n  LINE サンドボックス: ${suite.sandbox.url} (${suite.sandbox.config.channels.length} チャネル、模擬住民が友だち追加・ブロックを続けます)`
    : '';
  console.log(
    `\nTayori が起動しました: ${suite.url}\n  データ: ${where}${sandbox}\n  停止するには Ctrl-C を押してください\n`,
  );
  await new Promise(() => {});
}
