/**
 * The inbound SMTP listener (smtp-server), off unless configured: one recipient per mail, the
 * tenant's address checked at RCPT (550 for any other), the message read up to MAX_MESSAGE_BYTES
 * and parsed by mailparser, then handed to the intake. Plain SMTP without AUTH or STARTTLS: put it
 * behind the organisation's mail server (which relays to it) or on a private network. Nothing a
 * client sends can throw out of here: every failure is an SMTP answer.
 */
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Logger } from '../../core/logger.ts';
import type { MailIntake } from './intake.ts';

export const MAX_MESSAGE_BYTES = 512 * 1024;

const smtpError = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });
const tenantOf = new WeakMap<SMTPServerSession, string>();

/** The message's bytes, at most `limit` (the rest read and dropped); undefined when it was longer. */
async function readBounded(stream: Readable, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size <= limit ? Buffer.concat(chunks) : undefined;
}

export class MailListener {
  readonly #server: SMTPServer;

  constructor(private readonly d: { intake: MailIntake; logger: Logger; host: string; port: number; name: string }) {
    this.#server = new SMTPServer({
      name: d.name,
      banner: 'Tayori',
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      size: MAX_MESSAGE_BYTES,
      maxClients: 20,
      socketTimeout: 60_000,
      closeTimeout: 5_000,
      logger: false,
      onRcptTo: (address, session, callback) => {
        if (tenantOf.has(session)) return callback(smtpError(452, '4.5.3 One recipient per message'));
        d.intake.recipient(address.address).then(
          (tenantId) => {
            if (!tenantId) return callback(smtpError(550, '5.1.1 No such recipient'));
            tenantOf.set(session, tenantId);
            callback();
          },
          (err: unknown) => {
            d.logger.warn({ err }, 'mail recipient not checked');
            callback(smtpError(451, '4.3.0 Try again later'));
          },
        );
      },
      onData: (stream, session, callback) => {
        this.#onData(stream, session).then(
          () => callback(),
          (err: Error) => callback(err),
        );
      },
    });
    this.#server.on('error', (err) => d.logger.warn({ err }, 'smtp listener error'));
  }

  async #onData(stream: Readable, session: SMTPServerSession): Promise<void> {
    const tenantId = tenantOf.get(session);
    // the next message on this connection names its own recipient
    tenantOf.delete(session);
    const raw = await readBounded(stream, MAX_MESSAGE_BYTES);
    if (!tenantId) throw smtpError(503, '5.5.1 No recipient');
    if (!raw) throw smtpError(552, '5.3.4 Message too big');
    let result: Awaited<ReturnType<MailIntake['receive']>>;
    try {
      const parsed = await simpleParser(raw, { skipImageLinks: true });
      const from = parsed.from?.value[0];
      const envelope = session.envelope.mailFrom;
      const sender = (from?.address || (envelope ? envelope.address : '') || '').toLowerCase();
      result = await this.d.intake.receive(tenantId, {
        sender,
        senderName: from?.name ?? '',
        subject: (parsed.subject ?? '').replace(/\s+/g, ' ').trim().slice(0, 300),
        text: parsed.text ?? '',
        messageId: parsed.messageId ?? '',
        date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date.getTime() : Date.now(),
        remoteIp: session.remoteAddress ?? '',
      });
    } catch (err) {
      this.d.logger.warn({ err, tenantId }, 'mail not handled');
      throw smtpError(451, '4.3.0 Try again later');
    }
    if (result.outcome === 'rejected') throw smtpError(550, '5.7.1 Sender not allowed');
    if (result.outcome === 'limited') throw smtpError(451, '4.7.1 Too many messages, try later');
    if (result.outcome === 'failed') throw smtpError(451, '4.3.0 Delivery not created, try later');
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.server.once('error', reject);
      this.#server.listen(this.d.port, this.d.host, () => {
        this.#server.server.off('error', reject);
        resolve();
      });
    });
  }

  get port(): number {
    return (this.#server.server.address() as AddressInfo | null)?.port ?? 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
