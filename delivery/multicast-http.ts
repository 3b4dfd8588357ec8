/**
 * The fan-out's one hot request, POST /v2/bot/message/multicast, written as HTTP/1.1 on a pool of
 * keep-alive TCP (TLS for https) connections. Every other LINE call goes through @line/bot-sdk;
 * this one does not, because at 2,000 requests/s the SDK's fetch (undici, WHATWG streams) costs
 * about three times the CPU of the whole request here, and node:http's ClientRequest and
 * IncomingMessage machinery about three times what writing the request and reading the short
 * answer directly does (measured: about 60–90 µs against 22 µs of CPU per request); and because
 * its body is the same for every batch but the recipients: the rest of the JSON is serialised
 * once per delivery, and each batch's `to` is kept ready-made in Redis (see fan-out.ts), so a
 * request is a header block and three buffers written to a socket in one go.
 *
 * Answers are read per RFC 9112: status line, header fields, then a body framed by
 * Content-Length or chunked transfer coding (or, with neither, ended by the connection's close);
 * 1xx answers are skipped; a connection is reused unless the answer says `Connection: close`. A
 * request written on a reused connection that the server had closed meanwhile (no byte of an
 * answer came back) is written once more on a fresh one: its retry key makes that safe.
 *
 * The request is the one the SDK's MessagingApiClient.multicastWithHttpInfo sends (same path,
 * headers — Authorization, Content-Type, User-Agent, X-Line-Retry-Key — and JSON body;
 * test/delivery-multicast-http.test.ts compares them byte for byte), and error answers become the
 * SDK's HTTPFetchError, so callers handle them like any other LINE error.
 */
import net from 'node:net';
import tls from 'node:tls';
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

/** One answer read off a connection. */
interface Answer {
  status: number;
  statusText: string;
  /** Header fields, names lower-cased, in order. */
  fields: Array<[string, string]>;
  body: Buffer;
  /** The connection may carry the next request. */
  reusable: boolean;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
const TOKEN_SAFE = /^[^\r\n]*$/;

/**
 * Reads HTTP/1.1 answers from the bytes a connection receives: push() what arrives, and it calls
 * `onAnswer` for each complete answer (1xx skipped).
 */
class AnswerReader {
  #buf: Buffer = EMPTY;
  #head: (Omit<Answer, 'body' | 'reusable'> & { length: number; chunked: boolean; close: boolean }) | undefined;
  /** Some byte of an answer arrived since the last reset. */
  started = false;

  constructor(private readonly onAnswer: (a: Answer) => void) {}

  reset(): void {
    this.#buf = EMPTY;
    this.#head = undefined;
    this.started = false;
  }

  push(chunk: Buffer): void {
    this.started = true;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      if (!this.#head) {
        const end = this.#buf.indexOf(CRLF2);
        if (end < 0) {
          if (this.#buf.length > 64 * 1024) throw new Error('LINE answered with header fields over 64 KB');
          return;
        }
        const lines = this.#buf.toString('latin1', 0, end).split('\r\n');
        this.#buf = this.#buf.subarray(end + 4);
        const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]!);
        if (!m)
          throw new Error(`LINE answered with no HTTP/1.x status line: ${JSON.stringify(lines[0]!.slice(0, 100))}`);
        const status = Number(m[2]);
        const fields: Array<[string, string]> = [];
        let length = -1;
        let chunked = false;
        let close = m[1] === '0';
        for (let i = 1; i < lines.length; i++) {
          const line = lines[i]!;
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          fields.push([name, value]);
          if (name === 'content-length') length = Number(value);
          else if (name === 'transfer-encoding') chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
          else if (name === 'connection') {
            if (/(?:^|,)\s*close\s*(?:,|$)/i.test(value)) close = true;
            else if (/(?:^|,)\s*keep-alive\s*(?:,|$)/i.test(value)) close = false;
          }
        }
        if (status >= 100 && status < 200) continue; // 100 Continue and the like: the answer follows
        if (chunked) length = -1;
        else if (length < 0 || !Number.isFinite(length)) length = status === 204 || status === 304 ? 0 : -2; // -2: until close
        this.#head = { status, statusText: m[3] ?? '', fields, length, chunked, close: close || length === -2 };
      }
      const head = this.#head;
      let body: Buffer;
      if (head.chunked) {
        const decoded = decodeChunked(this.#buf);
        if (!decoded) return;
        body = decoded.body;
        this.#buf = this.#buf.subarray(decoded.used);
      } else if (head.length >= 0) {
        if (this.#buf.length < head.length) return;
        body = this.#buf.subarray(0, head.length);
        this.#buf = this.#buf.subarray(head.length);
      } else {
        return; // read until the connection closes (end())
      }
      this.#head = undefined;
      this.onAnswer({
        status: head.status,
        statusText: head.statusText,
        fields: head.fields,
        body,
        reusable: !head.close && this.#buf.length === 0,
      });
      if (this.#buf.length === 0) return;
    }
  }

  /** The connection closed: an answer framed by the close is complete now. */
  end(): boolean {
    const head = this.#head;
    if (!head || head.length !== -2) return false;
    this.#head = undefined;
    this.onAnswer({
      status: head.status,
      statusText: head.statusText,
      fields: head.fields,
      body: this.#buf,
      reusable: false,
    });
    return true;
  }
}

/** A chunked body at the start of buf, or undefined while incomplete. */
function decodeChunked(buf: Buffer): { body: Buffer; used: number } | undefined {
  const parts: Buffer[] = [];
  let p = 0;
  for (;;) {
    const eol = buf.indexOf(CRLF, p);
    if (eol < 0) return undefined;
    const size = parseInt(buf.toString('latin1', p, eol).split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error('LINE answered with a malformed chunked body');
    p = eol + 2;
    if (size === 0) {
      // trailer fields, then an empty line
      for (;;) {
        const end = buf.indexOf(CRLF, p);
        if (end < 0) return undefined;
        const empty = end === p;
        p = end + 2;
        if (empty) return { body: Buffer.concat(parts), used: p };
      }
    }
    if (buf.length < p + size + 2) return undefined;
    parts.push(buf.subarray(p, p + size));
    p += size + 2;
  }
}

/** A request waiting for its answer on a connection. */
interface InFlight {
  settle(err: Error | undefined, answer?: Answer): void;
}

class Connection {
  readonly socket: net.Socket;
  readonly reader: AnswerReader;
  current: InFlight | undefined;
  /** Requests this connection has carried. */
  used = 0;
  closed = false;

  constructor(
    socket: net.Socket,
    private readonly onIdleClose: (c: Connection) => void,
  ) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    this.reader = new AnswerReader((a) => {
      const cur = this.current;
      this.current = undefined;
      if (!a.reusable) this.destroy();
      cur?.settle(undefined, a);
      if (!cur) this.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      if (!this.current) {
        this.destroy(); // nothing was asked
        return;
      }
      try {
        this.reader.push(chunk);
      } catch (e) {
        const cur = this.current;
        this.current = undefined;
        this.destroy();
        cur?.settle(e as Error);
      }
    });
    const gone = (err?: Error) => {
      if (this.closed && !this.current) return;
      this.closed = true;
      const cur = this.current;
      this.current = undefined;
      if (cur && this.reader.end()) return;
      if (cur) cur.settle(err ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      else this.onIdleClose(this);
    };
    socket.on('error', (e) => gone(e));
    socket.on('end', () => {
      gone();
      socket.destroy();
    });
    socket.on('close', () => gone());
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

export class MulticastHttp {
  readonly #secure: boolean;
  readonly #host: string;
  readonly #port: number;
  /** Everything of the request's header block before X-Line-Retry-Key. */
  readonly #headStart: string;
  readonly #maxSockets: number;
  /** Connections waiting for a request, the last used on top (it is the likeliest still open). */
  readonly #idle: Connection[] = [];
  #open = 0;
  readonly #waiting: Array<(c: Connection) => void> = [];
  #closed = false;

  constructor(baseURL: string, accessToken: string, opts: { maxSockets?: number } = {}) {
    const url = new URL('/v2/bot/message/multicast', baseURL);
    this.#secure = url.protocol === 'https:';
    this.#host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.#port = Number(url.port || (this.#secure ? 443 : 80));
    this.#maxSockets = Math.max(1, opts.maxSockets ?? 64);
    const auth = `Bearer ${accessToken}`;
    if (!TOKEN_SAFE.test(auth)) throw new Error('the channel access token holds a line break');
    this.#headStart =
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\nUser-Agent: ${SDK_USER_AGENT}\r\n` +
      `Authorization: ${auth}\r\nContent-Type: application/json\r\n`;
  }

  /**
   * Sends one multicast whose JSON body is `parts` concatenated; resolves with LINE's request id
   * on 2xx, rejects with HTTPFetchError on any other answer, RequestTimeout after timeoutMs.
   */
  send(parts: readonly Buffer[], retryKey: string, timeoutMs: number): Promise<Accepted> {
    if (!TOKEN_SAFE.test(retryKey)) return Promise.reject(new Error('the retry key holds a line break'));
    let length = 0;
    for (const p of parts) length += p.length;
    const head = `${this.#headStart}X-Line-Retry-Key: ${retryKey}\r\nContent-Length: ${length}\r\n\r\n`;
    return new Promise<Accepted>((resolve, reject) => {
      let done = false;
      let conn: Connection | undefined;
      const finish = (err: Error | undefined, a?: Answer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) return reject(err);
        const { status, fields } = a!;
        if (status >= 200 && status < 300) {
          resolve({ status, requestId: fields.find(([k]) => k === 'x-line-request-id')?.[1] ?? '' });
          return;
        }
        const headers = new Headers();
        for (const [k, v] of fields) headers.append(k, v);
        reject(
          new HTTPFetchError(`${status} - ${a!.statusText}`, {
            status,
            statusText: a!.statusText,
            headers,
            body: a!.body.toString('utf8'),
          }),
        );
      };
      let inFlight: InFlight | undefined;
      const timer = setTimeout(() => {
        finish(new RequestTimeout(`no answer in ${timeoutMs} ms`));
        if (conn && conn.current === inFlight) {
          conn.current = undefined;
          this.#forget(conn);
        }
      }, timeoutMs);
      const write = (c: Connection, again: boolean) => {
        if (done) return this.#release(c);
        conn = c;
        const reused = c.used > 0;
        c.used++;
        c.reader.reset();
        c.current = inFlight = {
          settle: (err, a) => {
            if (err && reused && !again && !c.reader.started && !done) {
              // the server had closed this kept-alive connection: once more on a fresh one (in its place)
              c.destroy();
              write(this.#connect(), true);
              return;
            }
            if (!err && a!.reusable && !c.closed) this.#release(c);
            else this.#forget(c);
            finish(err, a);
          },
        };
        const s = c.socket;
        s.cork();
        s.write(head, 'latin1');
        for (const p of parts) s.write(p);
        s.uncork();
      };
      this.#acquire().then(
        (c) => write(c, false),
        (e: Error) => finish(e),
      );
    });
  }

  /** An idle connection, a new one when fewer than maxSockets are open, or the next one freed. */
  #acquire(): Promise<Connection> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    while (this.#idle.length > 0) {
      const c = this.#idle.pop()!;
      if (!c.closed && !c.socket.destroyed) return Promise.resolve(c);
      this.#open--;
    }
    if (this.#open < this.#maxSockets) return this.#fresh();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #fresh(): Promise<Connection> {
    this.#open++;
    return Promise.resolve(this.#connect());
  }

  #connect(): Connection {
    const socket = this.#secure
      ? tls.connect({
          host: this.#host,
          port: this.#port,
          servername: net.isIP(this.#host) ? undefined : this.#host,
          ALPNProtocols: ['http/1.1'],
        })
      : net.connect({ host: this.#host, port: this.#port });
    return new Connection(socket, (c) => this.#dropIdle(c));
  }

  /** A connection done with its request, fit for the next. */
  #release(c: Connection): void {
    const next = this.#waiting.shift();
    if (next) return next(c);
    if (this.#closed) {
      c.destroy();
      this.#open--;
      return;
    }
    this.#idle.push(c);
  }

  /** A connection that will carry no more requests (closed, failed, timed out). */
  #forget(c: Connection): void {
    c.destroy();
    this.#open--;
    const next = this.#waiting.shift();
    if (next) void this.#fresh().then(next);
  }

  /** An idle connection the server closed. */
  #dropIdle(c: Connection): void {
    const i = this.#idle.indexOf(c);
    if (i >= 0) {
      this.#idle.splice(i, 1);
      this.#open--;
    }
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#idle.splice(0)) c.destroy();
    this.#open = 0;
  }
}
