import { principalOf } from '../core/auth.ts';
import type { AuditLog } from '../core/audit.ts';
import type { FastifyInstance } from '../core/http.ts';

/**
 * Audit records for what other features do through the API: sends (delivery) and CSV exports.
 * Written in onSend, so the record exists before the answer leaves; only successful calls count.
 * (The dashboard's own exports record themselves.)
 */
const SEND = /^\/api\/v1\/tenants\/(\d{5})\/deliveries(?:\/([^/?]+)\/(send|schedule|cancel)|\/(test-send))?(?:\?|$)/;
const CSV = /^\/api\/v1\/(?:tenants\/(\d{5})\/)?([a-z0-9_/-]+)\.csv(?:\?|$)/;

export function registerAuditHooks(app: FastifyInstance, audit: AuditLog): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode >= 300 || !req.url.startsWith('/api/v1/')) return payload;
    let entry: Parameters<AuditLog['record']>[0] | undefined;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const m = req.method === 'POST' ? SEND.exec(req.url) : null;
    if (m) {
      const [, tenantId, deliveryId, verb, testSend] = m;
      const action = testSend
        ? 'test_send'
        : verb === 'send'
          ? 'send'
          : verb === 'schedule'
            ? 'send_scheduled'
            : verb === 'cancel'
              ? 'send_cancelled'
              : body.send === 'now'
                ? 'send'
                : body.send === 'schedule' || (body.send === undefined && body.scheduledAt)
                  ? 'send_scheduled'
                  : 'delivery_saved';
      let created: { id?: string } = {};
      if (!deliveryId && typeof payload === 'string') {
        try {
          created = JSON.parse(payload) as { id?: string };
        } catch {
          /* not JSON */
        }
      }
      entry = {
        action,
        tenantId,
        target: deliveryId ?? created.id ?? '',
        detail: {
          title: typeof body.title === 'string' ? body.title.slice(0, 100) : undefined,
          audience: (body.audience as { type?: string } | undefined)?.type,
        },
      };
    } else if (req.method === 'GET') {
      const c = CSV.exec(req.url);
      if (c && !req.url.startsWith('/api/v1/dashboard/'))
        entry = {
          action: 'export',
          tenantId: c[1] ?? null,
          target: `${c[2]}.csv`,
          detail: { url: req.url.slice(0, 200) },
        };
    }
    if (entry) {
      await audit.record({
        ...entry,
        actor: principalOf(req),
        ip: req.ip,
        userAgent: String(req.headers['user-agent'] ?? ''),
      });
    }
    return payload;
  });
}
