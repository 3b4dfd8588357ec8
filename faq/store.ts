/**
 * The FAQ scenario, settings and statistics events in ClickHouse. Staff edit a draft (each save a new
 * row), publish it as a numbered version (kept), and may roll back to an earlier version; residents
 * see the live version. Every change is audited before it is written (no record, no change).
 */
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { AiGuard } from './ai-guard.ts';
import {
  DEFAULT_SETTINGS,
  type FaqNode,
  type FaqSettings,
  type ScenarioVersion,
  scenarioSchema,
  settingsSchema,
  treeProblems,
} from './schemas.ts';

const draftRow = z.object({
  nodes: z.string(),
  updated_by: z.string(),
  updated_ms: z.coerce.number(),
  version: z.coerce.number(),
});
const versionRow = z.object({
  number: z.coerce.number(),
  note: z.string(),
  published_by: z.string(),
  published_ms: z.coerce.number(),
  node_count: z.coerce.number(),
});
const nodesRow = z.object({ nodes: z.string() });
const liveRow = z.object({ number: z.coerce.number(), changed_by: z.string(), changed_ms: z.coerce.number() });
const settingsRow = z.object({
  accept_typed: z.coerce.number(),
  ai_endpoint: z.string(),
  ai_timeout_ms: z.coerce.number(),
  keep_unmatched: z.coerce.number(),
  retention_days: z.coerce.number(),
  contact: z.string(),
  updated_by: z.string(),
  updated_ms: z.coerce.number(),
});

export type FaqEventKind = 'view' | 'resolved' | 'unresolved' | 'candidates' | 'fallback' | 'ai' | 'unmatched';
export interface FaqEvent {
  kind: FaqEventKind;
  nodeId?: string;
  via: 'chat' | 'typed' | 'liff';
  eventId: string;
  at?: number;
}

export interface Draft {
  nodes: FaqNode[];
  updatedBy: string;
  updatedAt: string | null;
  /** The live version's number (0: nothing published yet). */
  live: number;
}

/** Parses and checks a whole tree; 400 invalid_scenario with every problem in Japanese. */
export function parseScenario(input: unknown): FaqNode[] {
  const { nodes } = scenarioSchema.parse(input);
  const problems = treeProblems(nodes);
  if (problems.length) throw new AppError('invalid_scenario', problems[0]!, 400, { problems: problems.slice(0, 50) });
  return nodes;
}

export class FaqStore {
  #live = new Map<string, { at: number; nodes: Promise<{ number: number; nodes: FaqNode[] }> }>();
  #settings = new Map<string, { at: number; value: Promise<FaqSettings> }>();

  constructor(
    readonly ch: ClickHouseClient,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
    private readonly aiGuard?: Pick<AiGuard, 'check'>,
  ) {}

  async draft(tenantId: string): Promise<Draft> {
    const [row] = await query(this.ch, 'faq.draft', { tenant: tenantId }, draftRow);
    const live = await this.liveNumber(tenantId);
    if (row)
      return {
        nodes: JSON.parse(row.nodes) as FaqNode[],
        updatedBy: row.updated_by,
        updatedAt: new Date(row.updated_ms).toISOString(),
        live,
      };
    return { nodes: live ? (await this.live(tenantId)).nodes : [], updatedBy: '', updatedAt: null, live };
  }

  async saveDraft(
    tenantId: string,
    input: unknown,
    by: AuditContext,
    actor: string,
    source: 'editor' | 'xlsx' = 'editor',
  ): Promise<Draft> {
    const nodes = parseScenario(input);
    await this.audit.by(by, {
      action: source === 'xlsx' ? 'faq_imported' : 'faq_draft_saved',
      tenantId,
      target: 'faq/draft',
      detail: { nodes: nodes.length, source },
    });
    await this.#writeDraft(tenantId, nodes, actor);
    return this.draft(tenantId);
  }

  async #writeDraft(tenantId: string, nodes: FaqNode[], actor: string): Promise<void> {
    await this.ch.insert({
      table: 'faq_drafts',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          nodes: JSON.stringify(nodes),
          updated_by: actor,
          updated_at: chDateTime(this.now()),
          version: nextVersion(),
        },
      ],
    });
  }

  async versions(tenantId: string): Promise<ScenarioVersion[]> {
    const rows = await query(this.ch, 'faq.versions', { tenant: tenantId }, versionRow);
    return rows.map((r) => ({
      number: r.number,
      note: r.note,
      publishedBy: r.published_by,
      publishedAt: new Date(r.published_ms).toISOString(),
      nodeCount: r.node_count,
    }));
  }

  async liveNumber(tenantId: string): Promise<number> {
    const [row] = await query(this.ch, 'faq.live', { tenant: tenantId }, liveRow);
    return row?.number ?? 0;
  }

  /** The tree residents see (cached for 5 s; this process's publish clears it). */
  live(tenantId: string): Promise<{ number: number; nodes: FaqNode[] }> {
    const hit = this.#live.get(tenantId);
    if (hit && this.now() - hit.at < 5_000) return hit.nodes;
    const fresh = (async () => {
      const number = await this.liveNumber(tenantId);
      if (!number) return { number, nodes: [] };
      return { number, nodes: await this.#versionNodes(tenantId, number) };
    })();
    fresh.catch(() => this.#live.delete(tenantId));
    this.#live.set(tenantId, { at: this.now(), nodes: fresh });
    return fresh;
  }

  async #versionNodes(tenantId: string, number: number): Promise<FaqNode[]> {
    const [row] = await query(this.ch, 'faq.version_nodes', { tenant: tenantId, number }, nodesRow);
    if (!row) throw new AppError('faq_version_not_found', `第 ${number} 版はありません`, 404);
    return JSON.parse(row.nodes) as FaqNode[];
  }

  /** Publishes the draft as the next version and makes it live. */
  async publish(tenantId: string, note: string, by: AuditContext, actor: string): Promise<ScenarioVersion> {
    const draft = await this.draft(tenantId);
    const nodes = parseScenario({ nodes: draft.nodes });
    if (!nodes.length) throw new AppError('faq_empty', 'シナリオが空のため公開できません', 409);
    const number = ((await this.versions(tenantId))[0]?.number ?? 0) + 1;
    await this.audit.by(by, {
      action: 'faq_published',
      tenantId,
      target: `faq/versions/${number}`,
      detail: { number, nodes: nodes.length, note },
    });
    const at = chDateTime(this.now());
    await this.ch.insert({
      table: 'faq_versions',
      format: 'JSONEachRow',
      values: [
        { tenant_id: tenantId, number, nodes: JSON.stringify(nodes), note, published_by: actor, published_at: at },
      ],
    });
    await this.#setLive(tenantId, number, actor);
    return (await this.versions(tenantId)).find((v) => v.number === number)!;
  }

  /** Makes an earlier version live again; the draft becomes that version too. */
  async rollback(tenantId: string, number: number, by: AuditContext, actor: string): Promise<Draft> {
    const nodes = await this.#versionNodes(tenantId, number);
    const from = await this.liveNumber(tenantId);
    await this.audit.by(by, {
      action: 'faq_rolled_back',
      tenantId,
      target: `faq/versions/${number}`,
      detail: { from, to: number },
    });
    await this.#writeDraft(tenantId, nodes, actor);
    await this.#setLive(tenantId, number, actor);
    return this.draft(tenantId);
  }

  async #setLive(tenantId: string, number: number, actor: string): Promise<void> {
    await this.ch.insert({
      table: 'faq_live',
      format: 'JSONEachRow',
      values: [
        { tenant_id: tenantId, number, changed_by: actor, changed_at: chDateTime(this.now()), version: nextVersion() },
      ],
    });
    this.#live.delete(tenantId);
  }

  settings(tenantId: string): Promise<FaqSettings> {
    const hit = this.#settings.get(tenantId);
    if (hit && this.now() - hit.at < 5_000) return hit.value;
    const fresh = (async () => {
      const [r] = await query(this.ch, 'faq.settings', { tenant: tenantId }, settingsRow);
      if (!r) return DEFAULT_SETTINGS;
      return {
        acceptTyped: r.accept_typed === 1,
        aiEndpoint: r.ai_endpoint,
        aiTimeoutMs: r.ai_timeout_ms,
        keepUnmatched: r.keep_unmatched === 1,
        retentionDays: r.retention_days,
        contact: r.contact,
      };
    })();
    fresh.catch(() => this.#settings.delete(tenantId));
    this.#settings.set(tenantId, { at: this.now(), value: fresh });
    return fresh;
  }

  async saveSettings(tenantId: string, input: unknown, by: AuditContext, actor: string): Promise<FaqSettings> {
    const s = settingsSchema.parse(input);
    if (s.aiEndpoint) await this.aiGuard?.check(s.aiEndpoint);
    await this.audit.by(by, {
      action: 'faq_settings_changed',
      tenantId,
      target: 'faq/settings',
      detail: { ...s, aiEndpoint: s.aiEndpoint ? new URL(s.aiEndpoint).origin : '' },
    });
    await this.ch.insert({
      table: 'faq_settings',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          accept_typed: s.acceptTyped ? 1 : 0,
          ai_endpoint: s.aiEndpoint,
          ai_timeout_ms: s.aiTimeoutMs,
          keep_unmatched: s.keepUnmatched ? 1 : 0,
          retention_days: s.retentionDays,
          contact: s.contact,
          updated_by: actor,
          updated_at: chDateTime(this.now()),
          version: nextVersion(),
        },
      ],
    });
    this.#settings.delete(tenantId);
    return s;
  }

  /** Appends residents' events (replay-safe: the same event id and kind lands once). */
  async record(tenantId: string, events: FaqEvent[]): Promise<void> {
    if (!events.length) return;
    await this.ch.insert({
      table: 'faq_events',
      format: 'JSONEachRow',
      values: events.map((e) => ({
        tenant_id: tenantId,
        at: chDateTime(e.at ?? this.now()),
        kind: e.kind,
        node_id: e.nodeId ?? '',
        via: e.via,
        event_id: e.eventId,
      })),
    });
  }

  /** Keeps an unmatched typed question for `days` days (only where the tenant turned this on). */
  async keepUnmatched(tenantId: string, text: string, days: number, eventId: string, at = this.now()): Promise<void> {
    await this.ch.insert({
      table: 'faq_unmatched',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          at: chDateTime(at),
          text: text.slice(0, 500),
          expires_at: chDateTime(at + days * 86_400_000).slice(0, 19),
          event_id: eventId,
        },
      ],
    });
  }
}
