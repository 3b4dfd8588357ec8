/**
 * The sandbox's HTTP layer: a plain node:http server that answers like the LINE Platform
 * (Messaging API + Insight API) for the channels of one World.
 *
 * Per request, in order: request id → route → body (413) → bearer auth (401) → injected fault
 * → rate limit (429) → retry-key header (400) → JSON + schema validation (415/400) → retry-key
 * reuse (409) → handler. Every response carries `x-line-request-id`. Multicast bodies of the usual
 * shape take a fast path (fast-multicast.ts: user IDs read from the bytes into resident indexes);
 * `npm run bench -- sandbox` measures the whole path with a 2,000,000-resident channel.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { SandboxConfig, World } from '../world.ts';
import { validateQuery, validateRequest } from '../openapi.ts';
import { authenticate } from './auth.ts';
import { hasIndexFastPath, SandboxState, type ApiContext, type ApiReply, type Handler } from './context.ts';
import {
  internalError,
  invalidQuery,
  invalidRequestBody,
  invalidRetryKey,
  LineApiError,
  notFound,
  notImplemented,
  payloadTooLarge,
  rateLimited,
  retryKeyAccepted,
  retryKeyNotSupported,
  unparsableJson,
  unsupportedContentType,
} from './errors.ts';
import { FaultBoard, type Fault } from './faults.ts';
import { lineAndColumn, readBody, sendJson } from './http-io.ts';
import { RateLimiter } from './rate-limit.ts';
import { isValidRetryKey, RETRY_KEY_OPERATIONS, RetryKeyStore } from './retry-keys.ts';
import { Router } from './router.ts';
import { sendRoutes } from './send-routes.ts';
import { accountRoutes } from './account-routes.ts';
import { insightRoutes } from './insight-routes.ts';
import { richMenuRoutes } from './rich-menus.ts';
import { handleTestHook, TEST_HOOK_PREFIX } from './test-hooks.ts';
import { handleRichMenuPage, RICH_MENU_PAGE_PREFIX, type RawAnswer } from './rich-menu-page.ts';
import { parseMulticastFast } from './fast-multicast.ts';
import { LoginPlatform } from './login.ts';

export { SandboxState } from './context.ts';
export { FaultBoard, faultSpecSchema, type FaultSpec } from './faults.ts';
export type { ReceiptSummary, ResidentReceipts } from './receipts.ts';
export { ID_TOKEN_ISSUER, LoginPlatform, type LiffApp } from './login.ts';

/** One answered request, for tests that check every response against the OpenAPI spec. */
export interface RecordedResponse {
  method: string;
  path: string;
  /** undefined for test hooks and unknown routes. */
  operationId?: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface SandboxServerOptions {
  /** Called for every response sent (not for timeouts, which never answer). */
  onResponse?: (r: RecordedResponse) => void;
  /**
   * Real-time clock (epoch ms) for rate-limit windows, retry-key retention and fault windows.
   * Default Date.now; tests may hold it still to make "within one second" exact.
   */
  clock?: () => number;
}

export interface SandboxServer {
  server: Server;
  state: SandboxState;
  faults: FaultBoard;
  rateLimiter: RateLimiter;
  /** LINE Login (keys, verify, tokens) and the LIFF server API of the channels' Login channels. */
  login: LoginPlatform;
  /** Stops timers, drops held (timed-out) connections and closes the server. */
  close(): Promise<void>;
}

const HANDLERS: Record<string, Handler> = { ...sendRoutes, ...accountRoutes, ...insightRoutes, ...richMenuRoutes };

export function createSandboxServer(
  world: World,
  config: SandboxConfig,
  options: SandboxServerOptions = {},
): SandboxServer {
  const state = new SandboxState(world, config);
  const clock = options.clock ?? Date.now;
  const faults = new FaultBoard(clock);
  const rateLimiter = new RateLimiter(config.rateLimits, clock);
  const retryKeys = new RetryKeyStore(clock);
  const router = new Router(HANDLERS);
  const login = new LoginPlatform(world, clock);
  const held = new Set<ServerResponse>();

  const respond = (
    req: IncomingMessage,
    res: ServerResponse,
    pathname: string,
    operationId: string | undefined,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ) => {
    sendJson(res, status, body, headers);
    options.onResponse?.({ method: req.method ?? '', path: pathname, operationId, status, headers, body });
  };

  const hold = (res: ServerResponse, fault: Fault) => {
    held.add(res);
    const timer = setTimeout(() => {
      held.delete(res);
      res.socket?.destroy();
    }, fault.hangMs);
    timer.unref();
    res.on('close', () => {
      clearTimeout(timer);
      held.delete(res);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const headers: Record<string, string> = { 'x-line-request-id': requestId };
    let pathname = '/';
    let operationId: string | undefined;
    try {
      const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
      pathname = url.pathname;
      const method = req.method ?? 'GET';

      if (pathname.startsWith(RICH_MENU_PAGE_PREFIX)) {
        const read = await readBody(req);
        if (!read.ok) {
          if (read.reason === 'aborted') return;
          throw payloadTooLarge();
        }
        let a: RawAnswer;
        try {
          a = await handleRichMenuPage(method, pathname, url.searchParams, {
            world,
            state,
            faults,
            rateLimiter,
            login,
          });
        } catch (e) {
          if (e instanceof URIError) throw notFound();
          throw e;
        }
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(a.status, { ...headers, ...a.headers, 'content-length': Buffer.byteLength(a.body) });
          res.end(a.body);
        }
        return;
      }

      if (pathname.startsWith(TEST_HOOK_PREFIX)) {
        const read = await readBody(req);
        if (!read.ok) {
          if (read.reason === 'aborted') return;
          throw payloadTooLarge();
        }
        let result: [number, unknown];
        try {
          result = await handleTestHook(
            { method, pathname, query: url.searchParams, body: read.body },
            { world, state, faults, rateLimiter, login },
          );
        } catch (e) {
          if (e instanceof URIError) throw notFound();
          throw e;
        }
        respond(req, res, pathname, undefined, result[0], result[1], headers);
        return;
      }

      if (LoginPlatform.handles(pathname)) {
        operationId = LoginPlatform.operationOf(method, pathname);
        const read = await readBody(req);
        if (!read.ok) {
          if (read.reason === 'aborted') return;
          throw payloadTooLarge();
        }
        const a = await login.handle(
          method,
          pathname,
          { authorization: req.headers.authorization, contentType: req.headers['content-type'] },
          read.body,
        );
        respond(req, res, pathname, a.operationId, a.status, a.body, headers);
        return;
      }

      const match = router.match(method, pathname);
      const read = await readBody(req);
      if (!read.ok) {
        if (read.reason === 'aborted') return;
        throw payloadTooLarge();
      }
      if (!match) throw notFound();
      operationId = match.operation.operationId;
      const channel = authenticate(req, world);
      const channelId = channel.config.channelId;
      if (!match.handler) throw notImplemented(operationId);

      const fault = faults.match(channelId, operationId);
      if (fault && !fault.delivered) {
        if (fault.kind === '429') throw rateLimited();
        if (fault.kind === '5xx') throw internalError(fault.status);
        hold(res, fault);
        return;
      }

      if (!rateLimiter.allow(channelId, operationId)) throw rateLimited();

      const retryKeyHeader = req.headers['x-line-retry-key'];
      let retryKey: string | undefined;
      if (retryKeyHeader !== undefined) {
        if (!RETRY_KEY_OPERATIONS.has(operationId)) throw retryKeyNotSupported();
        if (Array.isArray(retryKeyHeader) || !isValidRetryKey(retryKeyHeader)) throw invalidRetryKey();
        retryKey = retryKeyHeader;
      }

      const query: Record<string, unknown> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      const queryDetails = validateQuery(operationId, query);
      if (queryDetails.length) throw invalidQuery(queryDetails);

      let body: unknown;
      let toIndexes: Int32Array | undefined;
      if (match.operation.requestBodyRef) {
        const contentType = String(req.headers['content-type'] ?? '');
        if (!/^application\/json\b/i.test(contentType)) throw unsupportedContentType(contentType || '(none)');
        const fast =
          operationId === 'multicast' && channel.residentIndexOfBytes && hasIndexFastPath(channel)
            ? parseMulticastFast(read.body, channel as Required<Pick<typeof channel, 'residentIndexOfBytes'>>)
            : undefined;
        if (fast) {
          body = fast.body;
          toIndexes = fast.indexes;
        } else {
          body = parseJson(read.body.toString('utf8'));
          const details = validateRequest(operationId, body);
          if (details.length) throw invalidRequestBody(details);
        }
      }

      if (retryKey) {
        const earlier = retryKeys.find(channelId, retryKey);
        if (earlier) throw retryKeyAccepted(earlier.requestId, earlier.sentMessages);
      }

      const ctx: ApiContext = {
        requestId,
        operationId,
        channel,
        body,
        toIndexes,
        query,
        params: match.params,
        retryKey,
        state,
        raw: read.body,
        contentType: req.headers['content-type'],
      };
      const reply: ApiReply = match.handler(ctx);
      if (retryKey && reply.status < 300) {
        retryKeys.remember(channelId, retryKey, { requestId, sentMessages: reply.sentMessages });
      }

      if (fault) {
        // The request took effect; the client sees a failure anyway.
        if (fault.kind === '5xx') throw internalError(fault.status);
        hold(res, fault);
        return;
      }
      if (reply.raw) {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(reply.status, {
            ...headers,
            ...reply.headers,
            'content-type': reply.raw.contentType,
            'content-length': reply.raw.bytes.length,
          });
          res.end(reply.raw.bytes);
        }
        options.onResponse?.({
          method: req.method ?? '',
          path: pathname,
          operationId,
          status: reply.status,
          headers,
          body: undefined,
        });
        return;
      }
      respond(req, res, pathname, operationId, reply.status, reply.body, { ...headers, ...reply.headers });
    } catch (e) {
      if (e instanceof LineApiError) {
        respond(req, res, pathname, operationId, e.status, e.body, { ...headers, ...e.headers });
        return;
      }
      process.stderr.write(`sandbox: ${req.method} ${pathname} failed: ${(e as Error)?.stack ?? String(e)}\n`);
      const err = internalError();
      respond(req, res, pathname, operationId, err.status, err.body, headers);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      process.stderr.write(`sandbox: unexpected ${String(e)}\n`);
      if (!res.headersSent) res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const close = async () => {
    state.narrowcasts.stop();
    for (const res of held) res.socket?.destroy();
    held.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };

  return { server, state, faults, rateLimiter, login, close };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec(String((e as Error).message));
    const { line, column } = lineAndColumn(text, m ? Number(m[1]) : text.length);
    throw unparsableJson(line, column);
  }
}
