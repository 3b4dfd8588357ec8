/**
 * The fan-out's one hot request, POST /v2/bot/message/multicast, on keep-alive node:http(s)
 * connections. Every other LINE call goes through @line/bot-sdk; this one does not, because at
 * 2,000 requests/s the SDK's fetch (undici, WHATWG streams) costs about three times the CPU of the
 * whole request here, and because its body is the same for every batch but the recipients: the
 * rest of the JSON is serialised once per delivery, and each batch's `to` is kept ready-made in
 * Redis (see fan-out.ts), so a request is three buffers written to a socket.
 *
 * The request is the one the SDK's MessagingApiClient.multicastWithHttpInfo sends (same path,
 * headers — Authorization, Content-Type, User-Agent, X-Line-Retry-Key — and JSON body;
 * test/delivery-multicast-http.test.ts compares them byte for byte), and error answers become the
 * SDK's HTTPFetchError, so callers handle them like any other LINE error.
 */
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { HTTPFetchError, type messagingApi } from '@line/bot-sdk';

/** The User-Agent the SDK sends (@line/bot-sdk/<version>). */
export const SDK_USER_AGENT = `@line/bot-sdk/${(createRequire(import.meta.url)('@line/bot-sdk/package.json') as { version: string }).version}`;

export class RequestTimeout extends Error {}

/** A multicast body is HEAD, the ids of `to` (JSON strings, commas between), then its tail. */
export const MULTICAST_HEAD = Buffer.from('{"to":[');

/** Everything after `to`'s ids, as the SDK would serialise it (JSON.stringify of the request, `to` first). */
export function multicastTail(rest: Omit<messagingApi.MulticastRequest, 'to'>): Buffer {
  return Buffer.from(`],${JSON.stringify(rest).slice(1)}`);
}

export interface Accepted {
  status: number;
  requestId: string;
}

export class MulticastHttp {
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #target: { host: string; port: number; path: string };
  readonly #auth: string;

  constructor(baseURL: string, accessToken: string, opts: { maxSockets?: number } = {}) {
    const url = new URL('/v2/bot/message/multicast', baseURL);
    const secure = url.protocol === 'https:';
    this.#agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: opts.maxSockets ?? 64, scheduling: 'lifo' });
    this.#request = secure ? https.request : http.request;
    this.#target = { host: url.hostname, port: Number(url.port || (secure ? 443 : 80)), path: url.pathname };
    this.#auth = `Bearer ${accessToken}`;
  }

  /**
   * Sends one multicast whose JSON body is `parts` concatenated; resolves with LINE's request id
   * on 2xx, rejects with HTTPFetchError on any other answer, RequestTimeout after timeoutMs.
   */
  send(parts: readonly Buffer[], retryKey: string, timeoutMs: number): Promise<Accepted> {
    // one buffer: the headers and the body leave in one write
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return new Promise<Accepted>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, value?: Accepted) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value!);
      };
      const req = this.#request(
        {
          ...this.#target,
          method: 'POST',
          agent: this.#agent,
          headers: {
            'user-agent': SDK_USER_AGENT,
            authorization: this.#auth,
            'content-type': 'application/json',
            'x-line-retry-key': retryKey,
            'content-length': body.length,
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const requestId = String(res.headers['x-line-request-id'] ?? '');
          if (status >= 200 && status < 300) {
            res.resume();
            res.on('end', () => finish(undefined, { status, requestId }));
            res.on('error', (e) => finish(e));
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => finish(e));
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
            const body = Buffer.concat(chunks).toString('utf8');
            finish(new HTTPFetchError(`${status} - ${res.statusMessage ?? ''}`, { status, statusText: res.statusMessage ?? '', headers, body }));
          });
        },
      );
      const timer = setTimeout(() => {
        finish(new RequestTimeout(`no answer in ${timeoutMs} ms`));
        req.destroy();
      }, timeoutMs);
      req.on('error', (e) => finish(e));
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
