import type { Command } from 'commander';
import { AppError } from '../core/errors.ts';
import { loadSandboxConfigFile, type SandboxConfig, SandboxConfigError, startSandbox } from '../sandbox/index.ts';

/** `tayori sandbox --port P --config FILE`: the LINE Platform stand-in on its own. */
export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description('LINE Platform のローカル代替 (Messaging API・Insight API・Webhook・模擬住民) を単独で起動します')
    .requiredOption(
      '--config <file>',
      'チャネル設定の JSON ファイル ({"channels": [{"channelId", "botUserId", "channelSecret", "channelAccessToken", "webhookUrl", "residents": {…}}]})',
    )
    .option('--port <port>', '待ち受けポート (0 で空きポート)', '0')
    .option('--host <host>', '待ち受けアドレス', '127.0.0.1')
    .action(async (o: { config: string; port: string; host: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new AppError('invalid_port', `--port は 0〜65535 の整数で指定してください (値: ${o.port})`);
      let config: SandboxConfig;
      try {
        config = loadSandboxConfigFile(o.config);
      } catch (e) {
        if (e instanceof SandboxConfigError)
          throw new AppError('sandbox_config_invalid', `サンドボックスの設定に誤りがあります: ${e.message}`);
        throw e;
      }
      const sandbox = await startSandbox({ config, port, host: o.host });
      console.log(
        `LINE サンドボックスが起動しました: ${sandbox.url} (${config.channels.length} チャネル)\n停止するには Ctrl-C を押してください`,
      );
      const stop = async () => {
        await sandbox.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
      await new Promise(() => {});
    });
}
