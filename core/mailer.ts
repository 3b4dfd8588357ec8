/**
 * Mail to the configured contacts (TAYORI_SMTP_URL, TAYORI_MAIL_FROM, TAYORI_ALERT_TO): incident
 * notices and failed backups. Without an SMTP URL nothing is sent and `enabled` is false.
 */
import nodemailer, { type Transporter } from 'nodemailer';

export interface MailMessage {
  subject: string;
  text: string;
  /** Default: the configured contacts. */
  to?: string[];
}

export interface Mailer {
  readonly enabled: boolean;
  readonly to: readonly string[];
  send(m: MailMessage): Promise<void>;
  close(): void;
}

export function createMailer(opts: { smtpUrl?: string; from?: string; to?: readonly string[] }): Mailer {
  const to = [...(opts.to ?? [])];
  let transport: Transporter | undefined;
  const enabled = Boolean(opts.smtpUrl) && to.length > 0;
  return {
    enabled,
    to,
    async send(m) {
      if (!opts.smtpUrl) return;
      const recipients = m.to ?? to;
      if (!recipients.length) return;
      transport ??= nodemailer.createTransport(opts.smtpUrl);
      await transport.sendMail({
        from: opts.from ?? 'tayori@localhost',
        to: recipients.join(', '),
        subject: m.subject,
        text: m.text,
      });
    },
    close() {
      transport?.close();
    },
  };
}
