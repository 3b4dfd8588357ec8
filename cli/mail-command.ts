import type { Command } from 'commander';
import nodemailer from 'nodemailer';
import type { Config } from '../core/config.ts';
import { AppError } from '../core/errors.ts';

/**
 * `tayori mail send --to … --subject … --body …`: one plain-text mail to Tayori's SMTP listener
 * (TAYORI_MAIL_INBOUND_HOST / _PORT unless --host / --port), as a disaster or weather system would
 * send it — to try a tenant's rules.
 */
export function registerMailCommand(program: Command, config: () => Config): void {
  const mail = program.command('mail').description('メールからの配信');
  mail
    .command('send')
    .description('Tayori のメール受信 (SMTP) にメールを 1 通送ります (ルールの確認用)')
    .requiredOption('--to <address>', '団体の受信アドレス (メールからの配信のページに表示されます)')
    .requiredOption('--subject <text>', '件名')
    .requiredOption('--body <text>', '本文')
    .option('--from <address>', '差出人 (許可した差出人のどれか)', 'tayori-cli@localhost')
    .option('--host <host>', 'SMTP の宛先 (既定: TAYORI_MAIL_INBOUND_HOST)')
    .option('--port <port>', 'SMTP のポート (既定: TAYORI_MAIL_INBOUND_PORT)')
    .action(async (o: { to: string; subject: string; body: string; from: string; host?: string; port?: string }) => {
      const c = config().mailInbound;
      const port = o.port === undefined ? c.port : Number(o.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new AppError('invalid_port', `--port は 1〜65535 の整数で指定してください (値: ${o.port})`);
      const transport = nodemailer.createTransport({
        host: o.host ?? c.host,
        port,
        secure: false,
        ignoreTLS: true,
        connectionTimeout: 10_000,
      });
      try {
        const info = await transport.sendMail({
          from: o.from,
          to: o.to,
          subject: o.subject,
          text: o.body.replace(/\\n/g, '\n'),
        });
        console.log(`送信しました: ${info.response}`);
      } catch (e) {
        const err = e as { responseCode?: number; response?: string; code?: string; message?: string };
        throw new AppError(
          'mail_not_sent',
          err.responseCode
            ? `受け付けられませんでした (${err.responseCode}): ${err.response ?? ''}`
            : `送信できませんでした: ${err.code ?? err.message ?? ''} (メール受信は TAYORI_MAIL_INBOUND=on で起動します)`,
        );
      } finally {
        transport.close();
      }
    });
}
