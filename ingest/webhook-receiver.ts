import type { IncomingMessage, ServerResponse } from 'node:http';
import { validateSignature } from '@line/bot-sdk';
import type { Logger } from '../core/logger.ts';
import { MACHINE_HEADERS } from '../core/security-headers.ts';
import { counter, histogram } from '../core/metrics-registry.ts';
import { BacklogFullError, type EventLog } from './event-log.ts';
import type { TenantSecretsCache, WebhookTenant } from './tenant-secrets.ts';
import { checkWebhookBody, forLog, type WebhookBody } from './webhook-body.ts';

export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

interface Deps {
  secrets: TenantSecretsCache;
  log: EventLog;
  logger: Logger;
  /** Typed text held in memory for a feature that answers it (the FAQ); the log keeps none. */
  texts?: { wantsText: boolean; holdText(tenantId: string, webhookEventId: string, text: string): void };
}

const PATH = /^\/webhook\/([^/?#]*)\/?(?:\?.*)?$/;
/** Tenant ids are 地方公共団体コード (5 digits); anything else is not a tenant of this suite. */
const TENANT_ID = /^\d{5}$/;

/** The tenant id of a webhook path, decoded and checked; undefined when it cannot be one. */
export function webhookTenantId(segment: string): string | undefined {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return TENANT_ID.test(id) ? id : undefined;
}

/**
 * Whether a request is for the webhook receiver (it runs ahead of the API app, on the same port,
 * mounted `forMachines`: its answers carry MACHINE_HEADERS, not the browser policies).
 */
export function isWebhookRequest(req: IncomingMessage): boolean {
  return req.url !== undefined && req.url.startsWith('/webhook/');
}

// /metrics: children bound once, so a request costs an increment and an observation
const answered = counter('tayori_webhook_requests_total', 'Webhook requests answered, by status class', ['status']);
const ANSWERED = { ok: answered.labels('2xx'), refused: answered.labels('4xx'), failed: answered.labels('5xx') };
const latency = histogram(
  'tayori_webhook_ack_seconds',
  'Time from a webhook request to its answer',
  [],
  [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
);
const STARTED = Symbol('webhookStarted');
type Timed = ServerResponse & { [STARTED]?: number };

function reply(res: ServerResponse, status: number, code?: string, message?: string): void {
  (status < 400 ? ANSWERED.ok : status < 500 ? ANSWERED.refused : ANSWERED.failed).inc();
  const t0 = (res as Timed)[STARTED];
  if (t0 !== undefined) latency.observe((performance.now() - t0) / 1000);
  const body = code ? JSON.stringify({ error: { code, message } }) : '{}';
  res.writeHead(status, {
    ...MACHINE_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * POST /webhook/:tenantId — a lean handler in front of the API app. 200 means durable: the answer
 * waits until the request's events are synced in the local event log (concurrent requests share one
 * sync); the shipper moves them to ClickHouse and the handlers run from the log. Nothing is logged
 * for a request that is refused. No input may throw out of here: a throw in a stream callback
 * would take the process down.
 */
export function createWebhookReceiver(deps: Deps): (req: IncomingMessage, res: ServerResponse) => void {
  const { secrets, log, logger } = deps;

  return (req, res) => {
    (res as Timed)[STARTED] = performance.now();
    try {
      receive(req, res);
    } catch (err) {
      fail(res, err);
    }
  };

  function receive(req: IncomingMessage, res: ServerResponse): void {
    const m = PATH.exec(req.url ?? '');
    if (!m) return drain(req, res, 404, 'not_found', 'Webhook の URL は /webhook/<地方公共団体コード> です');
    const tenantId = webhookTenantId(m[1]!);
    if (!tenantId)
      return drain(
        req,
        res,
        404,
        'tenant_invalid',
        'Webhook の URL のテナント (地方公共団体コード 5 桁) が正しくありません',
      );
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return drain(req, res, 405, 'method_not_allowed', 'Webhook は POST で送ってください');
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > WEBHOOK_BODY_LIMIT) return tooLarge(req, res);

    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      if (refused) return;
      size += c.length;
      if (size > WEBHOOK_BODY_LIMIT) {
        refused = true;
        tooLarge(req, res);
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => {
      refused = true;
    });
    req.on('end', () => {
      if (refused) return;
      try {
        const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        const t = secrets.get(tenantId);
        if (t instanceof Promise)
          t.then((tenant) => handle(tenant, raw, req, res)).catch((err: unknown) => fail(res, err));
        else handle(t, raw, req, res);
      } catch (err) {
        fail(res, err);
      }
    });
  }

  function handle(tenant: WebhookTenant | undefined, raw: Buffer, req: IncomingMessage, res: ServerResponse): void {
    if (!tenant) return reply(res, 404, 'tenant_not_found', 'このテナントは登録されていません');
    if (tenant.secretUnreadable)
      return reply(
        res,
        401,
        'channel_secret_unreadable',
        'チャネルシークレットを復号できないため署名を検証できません (暗号鍵とチャネル設定を確認してください)',
      );
    if (!tenant.channelSecret)
      return reply(res, 401, 'channel_secret_missing', 'チャネルシークレットが未設定のため署名を検証できません');
    const signature = req.headers['x-line-signature'];
    if (typeof signature !== 'string' || signature === '')
      return reply(res, 401, 'signature_missing', 'x-line-signature ヘッダーがありません');
    if (!validateSignature(raw, tenant.channelSecret, signature))
      return reply(res, 401, 'signature_invalid', '署名が一致しません (チャネルシークレットを確認してください)');

    let body: WebhookBody;
    try {
      body = JSON.parse(raw.toString('utf8')) as WebhookBody;
    } catch {
      return reply(res, 400, 'invalid_json', '本文が正しい JSON ではありません');
    }
    const problem = checkWebhookBody(body);
    if (problem) return reply(res, 400, 'invalid_body', `LINE の Webhook の形式ではありません: ${problem}`);
    if (body.destination !== tenant.botUserId)
      return reply(res, 400, 'destination_mismatch', 'destination がこのテナントのボットのユーザー ID と一致しません');
    if (body.events.length === 0) return reply(res, 200);

    if (deps.texts?.wantsText)
      for (const e of body.events) {
        const m = e.message as { type?: unknown; text?: unknown } | undefined;
        if (e.type === 'message' && m?.type === 'text' && typeof m.text === 'string' && e.webhookEventId)
          deps.texts.holdText(tenant.id, e.webhookEventId, m.text);
      }
    log
      .append([{ kind: 'webhook', tenantId: tenant.id, receivedAt: Date.now(), events: body.events.map(forLog) }])
      .then(() => reply(res, 200))
      .catch((err: unknown) => fail(res, err));
  }

  function fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) return;
    if (err instanceof BacklogFullError) {
      logger.warn(
        { bytes: err.bytes, maxBytes: err.maxBytes },
        'event log full; answering 503 so that LINE redelivers',
      );
      return reply(res, 503, 'backlog_full', '未送信のイベントが上限に達しました。LINE が再送します');
    }
    logger.error({ err }, 'webhook events could not be logged');
    reply(res, 503, 'store_unavailable', 'イベントを保存できませんでした。LINE が再送します');
  }
}

function drain(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  req.resume();
  reply(res, status, code, message);
}

function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close');
  reply(res, 413, 'body_too_large', `本文が大きすぎます (上限 ${WEBHOOK_BODY_LIMIT / 1024 / 1024} MB)`);
  req.resume();
}
