/**
 * The AI hook: a typed question that matches nothing goes, where the tenant configured an endpoint, to
 * that external service (the prefecture may supply one). Contract: POST JSON
 * `{ "tenantId", "question" }` → 200 JSON `{ "answer": "…" }`. Anything else — a timeout, a refused
 * connection, another status, a body not of that shape — counts as no answer (logged, never thrown),
 * and the resident gets the polite fallback.
 */
import type { Logger } from '../core/logger.ts';
import { z } from '../core/zod.ts';

const answerSchema = z.object({ answer: z.string().trim().min(1).max(2000) });

export async function askAi(
  endpoint: string,
  timeoutMs: number,
  tenantId: string,
  question: string,
  logger: Logger,
): Promise<string | undefined> {
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ tenantId, question: question.slice(0, 500) }),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    if (!res.ok) {
      logger.warn({ tenantId, status: res.status }, 'FAQ AI endpoint answered with an error status');
      await res.body?.cancel();
      return undefined;
    }
    const text = await res.text();
    if (text.length > 64 * 1024) return undefined;
    const r = answerSchema.safeParse(JSON.parse(text));
    if (!r.success) {
      logger.warn({ tenantId }, 'FAQ AI endpoint answered without { answer }');
      return undefined;
    }
    return r.data.answer;
  } catch (err) {
    logger.warn({ tenantId, err: (err as Error).name }, 'FAQ AI endpoint gave no answer (timeout or failure)');
    return undefined;
  }
}
