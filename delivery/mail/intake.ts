/**
 * What happens to a mail once the SMTP listener has it: the recipient address names the tenant (and
 * its secret), the sender must be on the tenant's list, limits in Redis stop mail bombs (per
 * sender and per tenant, in any hour: ./limits.ts), the first matching rule makes the message and picks the
 * audience, and delivery's service creates the delivery — a draft for staff to approve, or sent at
 * once for an urgent rule — so retry keys, rate limits and the send's audit record apply. Every mail
 * is recorded (never its body) and audited; a mail without an allowed sender is refused, one without a
 * rule (or without a place to send to) is parked; neither is ever delivered. A mail sent again with
 * the same Message-ID (an MTA's retry) is not delivered twice.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuditContext, AuditLog } from '../../core/audit.ts';
import { isAppError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Redis } from '../../core/redis.ts';
import { tokyoDateTime } from '../../core/time.ts';
import type { ResidentStore } from '../residents.ts';
import type { DeliveryService } from '../service.ts';
import { cleanBody, renderTemplate } from './clean.ts';
import { DEFAULT_MAIL_LIMITS, type MailLimits, MailWindows } from './limits.ts';
import { placesAudience, ruleMatches } from './rules.ts';
import { type MailLogEntry, type MailOutcome, type MailStore, newId } from './store.ts';

export interface ReceivedMail {
  sender: string;
  senderName: string;
  subject: string;
  text: string;
  messageId: string;
  date: number;
  remoteIp: string;
}

export interface IntakeResult {
  outcome: MailOutcome | 'duplicate';
  mailId: string;
  deliveryId?: string;
}

const LOCAL_PART = /^(\d{5,6})-([a-z2-7]{20})$/;

/** Whether `sender` is on the list: an address, or '@domain' for every address of that domain. */
export function senderAllowed(list: readonly string[], sender: string): boolean {
  const s = sender.trim().toLowerCase();
  const domain = s.slice(s.lastIndexOf('@'));
  return list.some((a) => a === s || (a.startsWith('@') && a === domain));
}

const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export class MailIntake {
  readonly #windows: MailWindows;

  constructor(
    private readonly d: {
      store: MailStore;
      service: DeliveryService;
      residents: ResidentStore;
      /** Delivery's fail-fast request connection: while Redis is down a mail is refused for now (451), never held. */
      redis: Redis;
      audit: AuditLog;
      logger: Logger;
      /** Where residents open a notice's full text (<publicUrl>/notices/<id>). */
      publicUrl: () => string | undefined;
      domain: string;
      limits?: Partial<MailLimits>;
      /** The clock of the hourly limits (tests move it). */
      clock?: () => number;
    },
  ) {
    this.#windows = new MailWindows(d.redis, () => this.limits, d.clock);
  }

  get limits(): MailLimits {
    return { ...DEFAULT_MAIL_LIMITS, ...this.d.limits };
  }

  /** The tenant an address receives for (its secret checked, mail turned on), or undefined. */
  async recipient(address: string): Promise<string | undefined> {
    const at = address.lastIndexOf('@');
    if (at < 0 || address.slice(at + 1).toLowerCase() !== this.d.domain.toLowerCase()) return undefined;
    const m = LOCAL_PART.exec(address.slice(0, at).toLowerCase());
    if (!m) return undefined;
    const s = await this.d.store.cachedSettings(m[1]!);
    return s?.enabled && sameSecret(s.secret, m[2]!) ? m[1] : undefined;
  }

  async receive(tenantId: string, mail: ReceivedMail): Promise<IntakeResult> {
    const mailId = newId();
    const entry: MailLogEntry = {
      mailId,
      receivedAt: Date.now(),
      sender: mail.sender,
      subject: mail.subject,
      outcome: 'parked',
      reason: '',
      ruleId: '',
      ruleName: '',
      deliveryId: '',
      noticeId: '',
      places: [],
    };
    const finish = async (outcome: MailOutcome, reason: string, extra: Partial<MailLogEntry> = {}) => {
      Object.assign(entry, { outcome, reason }, extra);
      await this.d.audit.record({
        action: 'mail_received',
        outcome: outcome === 'rejected' || outcome === 'limited' ? 'denied' : outcome === 'failed' ? 'failed' : 'ok',
        tenantId,
        target: mailId,
        username: `mail:${mail.sender}`.slice(0, 100),
        ip: mail.remoteIp,
        detail: {
          sender: mail.sender,
          subject: mail.subject.slice(0, 200),
          outcome,
          reason,
          ruleId: entry.ruleId,
          deliveryId: entry.deliveryId,
        },
      });
      await this.d.store.record(tenantId, { ...entry, messageId: mail.messageId, remoteIp: mail.remoteIp });
      return { outcome, mailId, deliveryId: entry.deliveryId || undefined };
    };

    const admitted = await this.#windows.admit(tenantId, mail.sender, mailId);
    if (!admitted.ok) {
      if (admitted.first) await finish('limited', 'too_many_mails');
      return { outcome: 'limited', mailId };
    }
    const settings = await this.d.store.settings(tenantId);
    if (!settings?.enabled || !senderAllowed(settings.allowedSenders, mail.sender))
      return finish('rejected', 'unknown_sender');

    // an MTA's retry of a mail already handled
    const seenKey = mail.messageId
      ? `tayori:delivery:mail:seen:${tenantId}:${createHash('sha256').update(mail.messageId).digest('hex').slice(0, 32)}`
      : undefined;
    if (seenKey && (await this.d.redis.exists(seenKey))) return { outcome: 'duplicate', mailId };

    const body = cleanBody(mail.text);
    const parts = { from: `${mail.senderName} <${mail.sender}>`, subject: mail.subject, body };
    const rules = (await this.d.store.rules(tenantId)).filter((r) => r.enabled);
    const timedOut: string[] = [];
    const rule = rules.find((r) => {
      const m = ruleMatches(r, parts);
      if (m === 'timeout') timedOut.push(r.name);
      return m === true;
    });
    if (!rule)
      return finish('parked', timedOut.length ? `no_rule (pattern_timeout: ${timedOut.join(', ')})` : 'no_rule');
    entry.ruleId = rule.ruleId;
    entry.ruleName = rule.name;

    let audience = rule.audience;
    if (audience.type === 'places') {
      const found = placesAudience(await this.d.residents.categories(tenantId), `${mail.subject}\n${body}`);
      entry.places = found.places;
      if (!found.audience) return finish('parked', 'no_place');
      audience = found.audience;
    }
    const { date, time } = tokyoDateTime(mail.date);
    let noticeId = '';
    const base = this.d.publicUrl()?.replace(/\/+$/, '');
    const message = renderTemplate(rule.template, { ...parts, date: `${date} ${time}` }, () => {
      noticeId = newId(24);
      return base ? `${base}/notices/${noticeId}` : '';
    });
    if (noticeId) {
      await this.d.store.putNotice(noticeId, tenantId, mail.subject, body);
      entry.noticeId = noticeId;
    }
    const by: AuditContext = { actor: { kind: 'operator' }, ip: mail.remoteIp, userAgent: `mail rule: ${rule.name}` };
    try {
      const d = await this.d.service.create(
        tenantId,
        {
          title: `メール: ${mail.subject || '(件名なし)'}`.slice(0, 100),
          messages: [{ type: 'text', text: message.text }],
          audience,
          send: rule.urgent ? 'now' : 'draft',
        },
        by,
      );
      entry.deliveryId = d.id;
    } catch (err) {
      this.d.logger.warn({ err, tenantId, mailId }, 'mail delivery not created');
      return finish('failed', isAppError(err) ? err.code : 'error');
    }
    if (seenKey) await this.d.redis.set(seenKey, mailId, 'EX', 7 * 86_400).catch(() => undefined);
    return finish(rule.urgent ? 'sent' : 'draft', '');
  }
}
