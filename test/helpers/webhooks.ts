import { createHmac, randomBytes } from 'node:crypto';

/** A LINE-shaped webhook event for tests; ids unique unless given. */
export function event(
  type: string,
  userId: string,
  extra: Record<string, unknown> = {},
  ts = Date.now(),
): Record<string, unknown> {
  return {
    type,
    mode: 'active',
    timestamp: ts,
    source: { type: 'user', userId },
    webhookEventId: `01${randomBytes(12).toString('hex').toUpperCase()}`.slice(0, 26),
    deliveryContext: { isRedelivery: false },
    ...(type === 'unfollow' ? {} : { replyToken: randomBytes(16).toString('hex') }),
    ...extra,
  };
}

export function sign(body: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

/** POSTs a body signed with `secret` (or with the given signature header value). */
export async function postWebhook(
  url: string,
  body: unknown,
  secret: string,
  opts: { signature?: string | null; headerName?: string } = {},
): Promise<{ status: number; json: { error?: { code: string; message: string } } }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.signature !== null) headers[opts.headerName ?? 'x-line-signature'] = opts.signature ?? sign(text, secret);
  const res = await fetch(url, { method: 'POST', headers, body: text });
  return {
    status: res.status,
    json: (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } },
  };
}
