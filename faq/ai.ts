/**
 * The AI hook: a typed question that matches nothing goes, where the tenant configured an endpoint, to
 * that external service (the prefecture may supply one). Contract: POST JSON
 * `{ "tenantId", "question" }` → 200 JSON `{ "answer": "…" }`. Anything else — a timeout, a refused
 * connection, another status, a redirect, a body not of that shape — counts as no answer (logged,
 * never thrown), and the resident gets the polite fallback. The endpoint is checked again on every
 * call (faq/ai-guard.ts): https and public addresses only, unless the operator allowed the host, and
 * the connection's own DNS lookup refuses internal addresses (DNS rebinding).
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../core/logger.ts';
import { z } from '../core/zod.ts';
import type { AiGuard } from './ai-guard.ts';

const answerSchema = z.object({ answer: z.string().trim().min(1).max(2000) });
const MAX_BODY = 64 * 1024;

/** POSTs JSON and reads at most MAX_BODY bytes of the answer; the connection through `lookup` unless allowed. */
function post(url: URL, body: string, timeoutMs: number, guard: AiGuard): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        signal: AbortSignal.timeout(timeoutMs),
        agent: false,
        ...(guard.allowed(url) ? {} : { lookup: guard.lookup }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            req.destroy(new Error('answer too large'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function askAi(
  endpoint: string,
  timeoutMs: number,
  tenantId: string,
  question: string,
  logger: Logger,
  guard: AiGuard,
): Promise<string | undefined> {
  try {
    const url = await guard.check(endpoint);
    const res = await post(url, JSON.stringify({ tenantId, question: question.slice(0, 500) }), timeoutMs, guard);
    if (res.status !== 200) {
      logger.warn({ tenantId, status: res.status }, 'FAQ AI endpoint answered with another status than 200');
      return undefined;
    }
    const r = answerSchema.safeParse(JSON.parse(res.text));
    if (!r.success) {
      logger.warn({ tenantId }, 'FAQ AI endpoint answered without { answer }');
      return undefined;
    }
    return r.data.answer;
  } catch (err) {
    const e = err as Error & { code?: string };
    logger.warn({ tenantId, err: e.code ?? e.name }, 'FAQ AI endpoint gave no answer (refused, timeout or failure)');
    return undefined;
  }
}
