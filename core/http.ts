import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ZodError } from 'zod';
import { AppError } from './errors.ts';
import type { Logger } from './logger.ts';
import { applySecurityHeaders, registerSecurityHeaders } from './security-headers.ts';

export type { FastifyInstance, FastifyReply, FastifyRequest };

/**
 * Handlers that answer before the API app on the same port: hot paths (the webhook receiver) that
 * must not pay for the framework. The first whose `match` says yes takes the request.
 */
export class FrontHandlers {
  readonly #list: Array<{
    match: (req: IncomingMessage) => boolean;
    handle: (req: IncomingMessage, res: ServerResponse) => void;
  }> = [];

  add(match: (req: IncomingMessage) => boolean, handle: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.#list.push({ match, handle });
  }

  /** The suite's public URL (createHttpApp sets it): HSTS on the front handlers' answers when https. */
  publicUrl?: string;

  /** True when a front handler took the request (its answer carries the security headers). */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    for (const h of this.#list) {
      if (h.match(req)) {
        applySecurityHeaders(req, res, this.publicUrl);
        h.handle(req, res);
        return true;
      }
    }
    return false;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * The one HTTP app of the suite. Feature folders register their routes on it. Every error leaves
 * as JSON with a machine-readable code and a Japanese message; the process keeps serving.
 */
export function createHttpApp(
  logger: Logger,
  opts: {
    bodyLimit?: number;
    front?: FrontHandlers;
    trustProxy?: boolean | string[] | ((address: string, hop: number) => boolean);
    /** TAYORI_PUBLIC_URL: an https one turns on HSTS. */
    publicUrl?: string;
  } = {},
): FastifyInstance {
  const front = opts.front;
  if (front) front.publicUrl = opts.publicUrl;
  const app = Fastify({
    serverFactory: (handler) =>
      createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
        if (!front?.take(req, res)) handler(req, res);
      }),
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    trustProxy: opts.trustProxy ?? false, // TAYORI_TRUST_PROXY (off: X-Forwarded-For is ignored)
  }) as unknown as FastifyInstance;

  registerSecurityHeaders(app, { publicUrl: opts.publicUrl });

  app.setErrorHandler((err: unknown, req, reply) => {
    const { status, body } = toErrorResponse(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ error: { code: 'not_found', message: `${req.method} ${req.url.split('?')[0]} は見つかりません` } });
  });
  return app;
}

export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof AppError) {
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } },
    };
  }
  if (err instanceof ZodError) {
    return {
      status: 400,
      body: {
        error: {
          code: 'invalid_input',
          message: `入力内容に誤りがあります: ${err.issues.map((i) => `${i.path.join('.') || '(全体)'} — ${i.message}`).join(' / ')}`,
          details: err.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
        },
      },
    };
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, body: { error: { code: 'body_too_large', message: 'リクエストの本文が大きすぎます' } } };
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return {
      status: 415,
      body: { error: { code: 'unsupported_media_type', message: 'Content-Type は application/json で送ってください' } },
    };
  }
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (e.statusCode === 400 && /JSON/i.test(e.message ?? ''))) {
    return { status: 400, body: { error: { code: 'invalid_json', message: '本文が正しい JSON ではありません' } } };
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      status: e.statusCode,
      body: {
        error: {
          code: (e.code ?? 'bad_request').toLowerCase(),
          message: `リクエストを処理できません: ${e.message ?? ''}`,
        },
      },
    };
  }
  return {
    status: 500,
    body: {
      error: { code: 'internal_error', message: 'サーバー内部でエラーが発生しました。時間をおいて再度お試しください' },
    },
  };
}

/** Compares a bearer token with the accepted ones in constant time. */
export function bearerMatches(header: string | undefined, accepted: readonly string[]): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  return accepted.some((t) => {
    const want = Buffer.from(t);
    return want.length === given.length && timingSafeEqual(want, given);
  });
}
