/** ClickHouse records of delivery/mail/: settings, rules, the received-mail log, full texts. */
import { randomBytes } from 'node:crypto';
import { type ClickHouseClient, query } from '../../core/clickhouse.ts';
import { chDateTime, nextVersion } from '../../core/time.ts';
import { z } from '../../core/zod.ts';
import type { MailRule } from './rules.ts';

export interface MailSettings {
  tenantId: string;
  secret: string;
  allowedSenders: string[];
  enabled: boolean;
}

export type MailOutcome = 'sent' | 'draft' | 'parked' | 'rejected' | 'limited' | 'failed';

export interface MailLogEntry {
  mailId: string;
  receivedAt: number;
  sender: string;
  subject: string;
  outcome: MailOutcome;
  reason: string;
  ruleId: string;
  ruleName: string;
  deliveryId: string;
  noticeId: string;
  places: string[];
}

const settingsRow = z.object({
  tenant_id: z.string(),
  secret: z.string(),
  allowed_senders: z.array(z.string()),
  enabled: z.number(),
});
const ruleRow = z.object({
  rule_id: z.string(),
  name: z.string(),
  sort: z.number(),
  enabled: z.number(),
  urgent: z.number(),
  match: z.string(),
  template: z.string(),
  audience: z.string(),
});
const logRow = z.object({
  mail_id: z.string(),
  received_ms: z.coerce.number(),
  sender: z.string(),
  subject: z.string(),
  outcome: z.string(),
  reason: z.string(),
  rule_id: z.string(),
  rule_name: z.string(),
  delivery_id: z.string(),
  notice_id: z.string(),
  places: z.array(z.string()),
});
const noticeRow = z.object({
  tenant_id: z.string(),
  subject: z.string(),
  body: z.string(),
  created_ms: z.coerce.number(),
});

/** The secret part of a recipient address: 20 lower-case letters and digits (base32, ~100 bits). */
export const newSecret = () =>
  Array.from(randomBytes(20), (b) => 'abcdefghijklmnopqrstuvwxyz234567'[b & 31])
    .join('')
    .slice(0, 20);
export const newId = (bytes = 12) => randomBytes(bytes).toString('base64url');

/** How long the listener reuses a tenant's settings for RCPT checks (a change in this process clears it). */
const SETTINGS_CACHE_MS = 5000;

export class MailStore {
  readonly #cache = new Map<string, { settings: MailSettings | undefined; until: number }>();
  constructor(private readonly ch: ClickHouseClient) {}

  async settings(tenantId: string): Promise<MailSettings | undefined> {
    const r = (await query(this.ch, 'delivery_mail.settings', { tenant: tenantId }, settingsRow))[0];
    return r && { tenantId, secret: r.secret, allowedSenders: r.allowed_senders, enabled: r.enabled === 1 };
  }

  /** settings(), reused for a few seconds: what every RCPT from outside asks (bounded, so guessed ids cannot grow it). */
  async cachedSettings(tenantId: string): Promise<MailSettings | undefined> {
    const hit = this.#cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.settings;
    const settings = await this.settings(tenantId);
    if (this.#cache.size >= 1000) this.#cache.clear();
    this.#cache.set(tenantId, { settings, until: Date.now() + SETTINGS_CACHE_MS });
    return settings;
  }

  async putSettings(s: MailSettings, by: string): Promise<void> {
    this.#cache.delete(s.tenantId);
    await this.ch.insert({
      table: 'delivery_mail_settings',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: s.tenantId,
          secret: s.secret,
          allowed_senders: s.allowedSenders,
          enabled: s.enabled ? 1 : 0,
          updated_by: by,
          updated_at: chDateTime(Date.now()),
          version: nextVersion(),
          is_deleted: 0,
        },
      ],
    });
    this.#cache.delete(s.tenantId);
  }

  async rules(tenantId: string): Promise<MailRule[]> {
    const rows = await query(this.ch, 'delivery_mail.rules', { tenant: tenantId }, ruleRow);
    return rows.map((r) => ({
      ruleId: r.rule_id,
      name: r.name,
      sort: r.sort,
      enabled: r.enabled === 1,
      urgent: r.urgent === 1,
      match: JSON.parse(r.match) as MailRule['match'],
      template: r.template,
      audience: JSON.parse(r.audience) as MailRule['audience'],
    }));
  }

  async putRule(tenantId: string, r: MailRule, by: string, deleted = false): Promise<void> {
    await this.ch.insert({
      table: 'delivery_mail_rules',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          rule_id: r.ruleId,
          name: r.name,
          sort: r.sort,
          enabled: r.enabled ? 1 : 0,
          urgent: r.urgent ? 1 : 0,
          match: JSON.stringify(r.match),
          template: r.template,
          audience: JSON.stringify(r.audience),
          updated_by: by,
          updated_at: chDateTime(Date.now()),
          version: nextVersion(),
          is_deleted: deleted ? 1 : 0,
        },
      ],
    });
  }

  async log(tenantId: string, limit = 100): Promise<MailLogEntry[]> {
    const rows = await query(this.ch, 'delivery_mail.log', { tenant: tenantId, limit }, logRow);
    return rows.map((r) => ({
      mailId: r.mail_id,
      receivedAt: r.received_ms,
      sender: r.sender,
      subject: r.subject,
      outcome: r.outcome as MailOutcome,
      reason: r.reason,
      ruleId: r.rule_id,
      ruleName: r.rule_name,
      deliveryId: r.delivery_id,
      noticeId: r.notice_id,
      places: r.places,
    }));
  }

  async record(tenantId: string, e: MailLogEntry & { messageId: string; remoteIp: string }): Promise<void> {
    await this.ch.insert({
      table: 'delivery_mail_log',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          mail_id: e.mailId,
          received_at: chDateTime(e.receivedAt),
          sender: e.sender.slice(0, 320),
          subject: e.subject.slice(0, 300),
          message_id: e.messageId.slice(0, 300),
          remote_ip: e.remoteIp,
          outcome: e.outcome,
          reason: e.reason,
          rule_id: e.ruleId,
          rule_name: e.ruleName,
          delivery_id: e.deliveryId,
          notice_id: e.noticeId,
          places: e.places,
        },
      ],
    });
  }

  async putNotice(id: string, tenantId: string, subject: string, body: string): Promise<void> {
    await this.ch.insert({
      table: 'delivery_mail_notices',
      format: 'JSONEachRow',
      values: [{ notice_id: id, tenant_id: tenantId, subject, body, created_at: chDateTime(Date.now()) }],
    });
  }

  async notice(id: string): Promise<z.infer<typeof noticeRow> | undefined> {
    return (await query(this.ch, 'delivery_mail.notice', { id }, noticeRow))[0];
  }
}
