/**
 * The fan-out's multicast request (delivery/multicast-http.ts) is the one @line/bot-sdk sends:
 * same method, path, headers and JSON body, byte for byte; LINE's error answers become the SDK's
 * HTTPFetchError; a request that never answers is a RequestTimeout. And the audience cut into
 * chunks (batchLines, cutChunks) gives every user id once, in order, properly escaped.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTPFetchError, messagingApi } from '@line/bot-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_SIZE,
  batchLines,
  CHUNK_BATCHES,
  chunkValue,
  cutChunks,
  idsOfLines,
  parseChunk,
  parseLines,
  summarize,
} from '../../delivery/audience-batches.ts';
import { MULTICAST_HEAD, MulticastHttp, multicastTail, RequestTimeout } from '../../delivery/multicast-http.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

let server: http.Server;
let base: string;
const seen: Seen[] = [];
/** What the next request is answered with (status, headers, body), or 'hang'. */
let answer: [number, Record<string, string>, string] | 'hang' = [200, { 'x-line-request-id': 'req-1' }, '{}'];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      if (answer === 'hang') return;
      const [status, headers, body] = answer;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const ids = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `U${(from + i).toString(16).padStart(32, '0')}`);

/** The `to` fragment of batch k of the first chunk cut from these ids. */
function toFragment(list: string[], k = 0): Buffer {
  const value = chunkValue(cutChunks(batchLines(list), 0, 0, undefined)[0]!);
  const line = value.toString('utf8').split('\n')[k + 1]!;
  return Buffer.from(line.slice(line.indexOf('\t') + 1));
}

describe('the multicast request', () => {
  const request: messagingApi.MulticastRequest = {
    to: ids(500),
    messages: [
      { type: 'text', text: '健康マイレージのお知らせ "引用" \\ https://example.jp/?a=1&b=2' },
      { type: 'sticker', packageId: '446', stickerId: '1988' },
    ],
    notificationDisabled: true,
    customAggregationUnits: ['tayori_d123'],
  };
  const key = '6f1c5d2e-8a7b-5c3d-9e0f-1a2b3c4d5e6f';

  it('is what the SDK sends, byte for byte', async () => {
    seen.length = 0;
    answer = [200, { 'x-line-request-id': 'req-sdk' }, '{}'];
    await new messagingApi.MessagingApiClient({ channelAccessToken: 'token-a', baseURL: base }).multicast(request, key);
    answer = [200, { 'x-line-request-id': 'req-tayori' }, '{}'];
    const { to: _to, ...rest } = request;
    const http = new MulticastHttp(base, 'token-a');
    const accepted = await http.send([MULTICAST_HEAD, toFragment(request.to), multicastTail(rest)], key, 5000);
    http.close();
    expect(accepted).toEqual({ status: 200, requestId: 'req-tayori' });

    const [sdk, ours] = seen as [Seen, Seen];
    expect(ours.method).toBe(sdk.method);
    expect(ours.url).toBe('/v2/bot/message/multicast');
    expect(ours.url).toBe(sdk.url);
    for (const h of ['authorization', 'content-type', 'user-agent', 'x-line-retry-key', 'content-length'])
      expect(ours.headers[h], h).toBe(sdk.headers[h]);
    expect(ours.body.equals(sdk.body)).toBe(true);
    expect(JSON.parse(ours.body.toString('utf8'))).toEqual(request);
  });

  it('turns LINE’s error answers into the SDK’s HTTPFetchError, a 409 with the accepted request id', async () => {
    const http = new MulticastHttp(base, 'token-a');
    answer = [
      400,
      { 'x-line-request-id': 'r400' },
      JSON.stringify({
        message: 'The request body has 1 error(s)',
        details: [{ message: 'Invalid user ID', property: 'to[0]' }],
      }),
    ];
    const err = await http
      .send([MULTICAST_HEAD, toFragment(ids(1)), multicastTail({ messages: [{ type: 'text', text: 'x' }] })], 'k', 5000)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HTTPFetchError);
    expect((err as HTTPFetchError).status).toBe(400);
    expect(JSON.parse((err as HTTPFetchError).body).details[0].property).toBe('to[0]');
    answer = [
      409,
      { 'x-line-accepted-request-id': 'accepted-earlier' },
      '{"message":"The retry key is already accepted"}',
    ];
    const conflict = (await http
      .send([MULTICAST_HEAD, toFragment(ids(1)), multicastTail({ messages: [{ type: 'text', text: 'x' }] })], 'k', 5000)
      .catch((e: unknown) => e)) as HTTPFetchError;
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get('x-line-accepted-request-id')).toBe('accepted-earlier');
    answer = 'hang';
    await expect(
      http.send(
        [MULTICAST_HEAD, toFragment(ids(1)), multicastTail({ messages: [{ type: 'text', text: 'x' }] })],
        'k',
        300,
      ),
    ).rejects.toBeInstanceOf(RequestTimeout);
    answer = [200, {}, '{}'];
    http.close();
  });
});

describe('the connections', () => {
  const send = (h: MulticastHttp, key = 'k') =>
    h.send([MULTICAST_HEAD, toFragment(ids(1)), multicastTail({ messages: [{ type: 'text', text: 'x' }] })], key, 5000);

  it('are kept alive, and a new one is made after an answer with Connection: close or a close while idle', async () => {
    const h = new MulticastHttp(base, 'token-a', { maxSockets: 1 });
    const sockets = new Set<unknown>();
    const count = (_req: http.IncomingMessage) => sockets.add(_req.socket);
    server.on('request', count);
    try {
      answer = [200, { 'x-line-request-id': 'a' }, '{}'];
      expect(await send(h)).toEqual({ status: 200, requestId: 'a' });
      expect(await send(h)).toEqual({ status: 200, requestId: 'a' });
      expect(sockets.size).toBe(1);
      answer = [200, { 'x-line-request-id': 'b', connection: 'close' }, '{}'];
      expect(await send(h)).toEqual({ status: 200, requestId: 'b' });
      answer = [200, { 'x-line-request-id': 'c' }, '{}'];
      expect(await send(h)).toEqual({ status: 200, requestId: 'c' });
      expect(sockets.size).toBe(2);
      // the server drops its idle connections: the next request goes out on a fresh one
      server.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 50));
      expect(await send(h)).toEqual({ status: 200, requestId: 'c' });
      expect(sockets.size).toBe(3);
    } finally {
      server.off('request', count);
      h.close();
    }
  });

  it('read chunked answers and wait for a free connection beyond maxSockets', async () => {
    const h = new MulticastHttp(base, 'token-a', { maxSockets: 2 });
    answer = [
      429,
      { 'x-line-request-id': 'r429', 'transfer-encoding': 'chunked' },
      JSON.stringify({ message: 'You have reached your monthly limit.' }),
    ];
    const err = (await send(h).catch((e: unknown) => e)) as HTTPFetchError;
    expect(err).toBeInstanceOf(HTTPFetchError);
    expect(err.status).toBe(429);
    expect(JSON.parse(err.body).message).toBe('You have reached your monthly limit.');
    expect(err.headers.get('x-line-request-id')).toBe('r429');
    answer = [200, { 'x-line-request-id': 'many' }, '{}'];
    const all = await Promise.all(Array.from({ length: 7 }, (_, i) => send(h, `k${i}`)));
    expect(all.every((a) => a.requestId === 'many')).toBe(true);
    h.close();
  });
});

describe('cutting the audience into chunks', () => {
  it('keeps every id once, in order, 500 per batch and CHUNK_BATCHES batches per chunk', () => {
    const list = ids(CHUNK_BATCHES * BATCH_SIZE + 1234);
    const chunks = cutChunks(batchLines(list), 40, 7, undefined);
    expect(chunks.map((c) => [c.n, c.first, c.batches])).toEqual([
      [7, 40, CHUNK_BATCHES],
      [8, 40 + CHUNK_BATCHES, 3],
    ]);
    const back: string[] = [];
    for (const c of chunks) {
      const [header, ...lines] = chunkValue(c).toString('utf8').split('\n');
      expect(header).toBe(`${c.first}\t-`);
      for (const line of lines) {
        const [count, to] = line.split('\t') as [string, string];
        const batch = JSON.parse(`[${to}]`) as string[];
        expect(batch.length).toBe(Number(count));
        expect(batch.length).toBeLessThanOrEqual(BATCH_SIZE);
        back.push(...batch);
      }
    }
    expect(back).toEqual(list);
  });

  it('carries ids that need escaping and the click bucket unharmed', () => {
    const odd = ['U"quoted"', 'back\\slash', 'tab\there', '日本語'];
    const [chunk] = cutChunks(batchLines(odd), 0, 0, 'female');
    const [header, line] = chunkValue(chunk!).toString('utf8').split('\n') as [string, string];
    expect(header).toBe('0\t=female');
    expect(JSON.parse(`[${line.slice(line.indexOf('\t') + 1)}]`)).toEqual(odd);
  });

  it('reads back what it cut: counts, the last id, the ids, the parsed chunk', () => {
    const list = [...ids(BATCH_SIZE + 2), 'U"z"'];
    const lines = batchLines(list);
    expect(summarize(lines)).toEqual({ count: list.length, batches: 2, last: 'U"z"' });
    expect(summarize(Buffer.alloc(0))).toEqual({ count: 0, batches: 0, last: undefined });
    expect(idsOfLines(lines)).toEqual(list);
    const [chunk] = cutChunks(lines, 3, 0, undefined);
    const parsed = parseChunk(chunkValue(chunk!));
    expect(parseLines(chunk!.lines, chunk!.first, chunk!.bucket)).toEqual(parsed);
    expect(parsed.first).toBe(3);
    expect(parsed.bucket).toBeUndefined();
    expect(parsed.counts).toEqual([BATCH_SIZE, 3]);
    expect(parsed.lines.flatMap((l) => JSON.parse(`[${l.toString('utf8')}]`) as string[])).toEqual(list);
  });
});
