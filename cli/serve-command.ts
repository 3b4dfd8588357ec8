import type { Command } from 'commander';
import type { Config } from '../core/config.ts';
import { HEAP_FLAG, heapSizeConfigured } from '../core/heap.ts';
import type { Logger } from '../core/logger.ts';
import { startSuite } from './suite.ts';

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
  const suite = await startSuite(config, log, { demo, say: (line) => console.log(line) });
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

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      console.error('強制終了します');
      process.exit(130);
    }
    stopping = true;
    console.log(`\n${signal} を受け取りました。停止しています…`);
    await suite.close();
    console.log('停止しました');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await new Promise(() => {});
}
