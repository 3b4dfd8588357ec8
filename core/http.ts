import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ZodError } from 'zod';
import { clientIp, trustTest } from './client-ip.ts';
import { AppError, isConnectionError, isRedisConnectionError, unavailableError } from './errors.ts';
import type { Logger } from './logger.ts';
import { applySecurityHeaders, registerSecurityHeaders, securityHeaders } from './security-headers.ts';

export type { FastifyInstance, FastifyReply, FastifyRequest };

/**
 * Handlers that answer before the API app on the same port: hot paths (the webhook receiver) that
 * must not pay for the framework. The first whose `match` says yes takes the request.
 */
export class FrontHandlers {
  readonly #list: Array<{
    match: (req: IncomingMessage) => unknown;
    handle: (req: IncomingMessage, res: ServerResponse, hit: unknown) => void;
    browserHeaders: boolean;
  }> = [];

  /**
   * `match` says whether the handler takes the request: true, or what it found (handed to `handle`,
   * so the request is not matched twice); false or undefined passes it on. Answers get the security
   * headers, unless `forMachines`: a handler whose only callers are servers (LINE's webhooks), whose
   * answers carry no content a browser could render, sets its own (`MACHINE_HEADERS`).
   */
  add<T>(
    match: (req: IncomingMessage) => T | false | undefined,
    handle: (req: IncomingMessage, res: ServerResponse, hit: T) => void,
    opts: { forMachines?: boolean } = {},
  ): void {
    this.#list.push({
      match,
      handle: handle as (req: IncomingMessage, res: ServerResponse, hit: unknown) => void,
      browserHeaders: !opts.forMachines,
    });
  }

  /** The suite's public URL (createHttpApp sets it): HSTS on the front handlers' answers when https. */
  publicUrl?: string;

  /** Who trusts X-Forwarded-For (createHttpApp sets it from TAYORI_TRUST_PROXY), for clientIp(). */
  trust?: (address: string, hop: number) => boolean;

  /** The client's address, by the app's proxy rule (what fastify's req.ip would be). */
  clientIp(req: IncomingMessage): string {
    return clientIp(req, this.trust);
  }

  /** True when a front handler took the request (its answer carries the security headers, see add). */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    for (const h of this.#list) {
      const hit = h.match(req);
      if (hit !== false && hit !== undefined) {
        if (h.browserHeaders) applySecurityHeaders(req, res, this.publicUrl);
        h.handle(req, res, hit);
        return true;
      }
    }
    return false;
  }
}

/** One route as registered: its method and URL pattern (`/api/v1/tenants/:id`). */
export interface RouteEntry {
  method: string;
  url: string;
}

const routeTables = new WeakMap<object, RouteEntry[]>();
const fronts = new WeakMap<object, FrontHandlers>();

/** The front handlers of an app made by createHttpApp: hot paths answered before fastify. */
export function frontHandlers(app: FastifyInstance): FrontHandlers {
  const f = fronts.get(app);
  if (!f) throw new Error('frontHandlers: the app was not made by createHttpApp');
  return f;
}

/**
 * Every route registered on an app made by createHttpApp, in registration order (the HEAD twins
 * fastify adds to GET routes left out): what the security tests enumerate instead of a hand-kept list.
 */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
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
  // every app has front handlers (the webhook receiver, the residents' GET APIs): frontHandlers(app)
  const front = opts.front ?? new FrontHandlers();
  front.publicUrl = opts.publicUrl;
  front.trust = trustTest(opts.trustProxy);
  const app = Fastify({
    serverFactory: (handler) =>
      createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
        if (!front.take(req, res)) handler(req, res);
      }),
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    trustProxy: opts.trustProxy ?? false, // TAYORI_TRUST_PROXY (off: X-Forwarded-For is ignored)
    clientErrorHandler: answerClientError,
    // an undecodable path (`%E0`) or an overlong parameter: answered like every other error
    frameworkErrors: (err, req, reply) => {
      const { status, body } = toErrorResponse(err);
      // these answers skip the app's hooks: the security headers are set here
      applySecurityHeaders(req.raw, reply.raw, opts.publicUrl);
      void (reply as FastifyReply).status(status).send(body);
    },
  }) as unknown as FastifyInstance;
  const table: RouteEntry[] = [];
  routeTables.set(app, table);
  fronts.set(app, front);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') table.push({ method, url: r.url });
  });

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

/**
 * A request Node's HTTP parser refused (broken framing: a bad Content-Length or Transfer-Encoding,
 * headers over the limit, too slow): answered in the suite's own shape, then the connection closed.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'リクエストのヘッダーが大きすぎます']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'リクエストの受信が時間内に終わりませんでした']
        : [400, 'malformed_request', 'リクエストの形式が HTTP として正しくありません'];
  const body = JSON.stringify({ error: { code, message } });
  const headers = Object.entries(securityHeaders())
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n${headers}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  const answer = (status: number, code: string, message: string, details?: unknown) => ({
    status,
    body: { error: { code, message, ...(details ? { details } : {}) } },
  });
  if (err instanceof AppError) return answer(err.status, err.code, err.message, err.details);
  if (err instanceof ZodError) {
    return answer(
      400,
      'invalid_input',
      `入力内容に誤りがあります: ${err.issues.map((i) => `${i.path.join('.') || '(全体)'} — ${i.message}`).join(' / ')}`,
      err.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
    );
  }
  // a part that did not answer: 503, so the caller (or LINE) tries again; never a 500
  if (isRedisConnectionError(err)) return toErrorResponse(unavailableError('redis', err));
  if (isConnectionError(err)) {
    return answer(503, 'store_unavailable', '保存先に一時的に接続できません。しばらくしてから再度お試しください');
  }
  // a path or parameter that cannot be decoded (`%E0`): nothing is there
  if (err instanceof URIError) return answer(404, 'invalid_path', 'URL を解釈できません (% の後が正しくありません)');
  const e = err as { statusCode?: number; code?: string; message?: string };
  switch (e.code) {
    case 'FST_ERR_BAD_URL':
      return answer(404, 'invalid_path', 'URL を解釈できません (% の後が正しくありません)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return answer(414, 'path_too_long', 'URL が長すぎます');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return answer(413, 'body_too_large', 'リクエストの本文が大きすぎます');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return answer(415, 'unsupported_media_type', 'Content-Type は application/json で送ってください');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return answer(400, 'invalid_content_length', 'Content-Length が本文の長さと合いません');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return answer(400, 'invalid_json', '本文が正しい JSON ではありません');
  }
  if (e.statusCode === 400 && /JSON|prototype property/i.test(e.message ?? '')) {
    return answer(400, 'invalid_json', '本文が正しい JSON ではありません (使えないキーを含むか、形式に誤りがあります)');
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return answer(
      e.statusCode,
      (e.code ?? 'bad_request').toLowerCase(),
      `リクエストを処理できません: ${e.message ?? ''}`,
    );
  }
  return answer(500, 'internal_error', 'サーバー内部でエラーが発生しました。時間をおいて再度お試しください');
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
