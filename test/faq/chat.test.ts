/**
 * The FAQ in the chat through the sandbox: a resident taps the menu postback, walks category →
 * question by quick replies (answers as text or Flex with link buttons), answers いいえ, and the
 * statistics move (views per node, いいえ, resolution rate). Typed questions, where the tenant turned
 * them on: a clear match answered, a vague one offered candidates, an unmatched one sent to the
 * tenant's AI endpoint (a local HTTP server here; its answer marked as AI) or, when it times out, the
 * polite fallback with the menu; unmatched text kept only when the tenant asked. Nothing a resident
 * sends crashes a handler; a redelivered event is answered once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../ingest/index.ts';
import { waitFor } from '../helpers/index.ts';
import { type FaqWorld, faqWorld, labels, op, quick, SCENARIO, TSU } from './fixtures.ts';

let w: FaqWorld;
let ai: http.Server;
let aiUrl: string;
const aiMode = { mode: 'answer' as 'answer' | 'slow' | 'broken', asked: [] as string[] };

beforeAll(async () => {
  // the local AI server is on 127.0.0.1 over http: allowed as an operator would (TAYORI_FAQ_AI_ALLOW)
  w = await faqWorld('tayori-faq-chat-', { aiAllow: ['127.0.0.1'] });
  await w.faq.store.saveDraft(TSU, { nodes: SCENARIO }, op, 'operator');
  await w.faq.store.publish(TSU, 'テスト', op, 'operator');
  ai = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      aiMode.asked.push((JSON.parse(body) as { question: string }).question);
      const send = () => {
        if (res.destroyed) return;
        if (aiMode.mode === 'broken') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"no answer field"}');
          return;
        }
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ answer: '図書館は 9 時から 19 時まで開いています。' }));
      };
      if (aiMode.mode === 'slow') setTimeout(send, 3_000).unref();
      else send();
    });
  });
  await new Promise<void>((r) => ai.listen(0, '127.0.0.1', r));
  aiUrl = `http://127.0.0.1:${(ai.address() as AddressInfo).port}/answer`;
}, 60_000);
afterAll(async () => {
  ai?.closeAllConnections();
  await new Promise((r) => ai?.close(r));
  await w?.h.close();
});

const stats = async () => {
  const { nodes } = await w.faq.store.live(TSU);
  return w.faq.stats.stats(TSU, nodes, Date.now() - 86_400_000, Date.now() + 60_000);
};

describe('walking the FAQ in the chat', () => {
  it('menu → category → question by quick replies; いいえ; the statistics move', async () => {
    const u = w.residents[0]!;
    const before = await stats();
    const menu = await w.act(u, { type: 'postback', data: 'faq:menu' });
    expect(labels(menu.messages[0])).toEqual(['ごみ・リサイクル', '防災']);
    const cat = await w.act(u, { type: 'postback', data: quick(menu.messages[0], 'ごみ・リサイクル') });
    expect(cat.messages[0]!.text).toContain('【ごみ・リサイクル】');
    expect(labels(cat.messages[0])).toEqual(['ごみの収集日を知りたい', '粗大ごみの出し方', 'メニュー']);
    // an answer with a link: a Flex bubble with a uri button, then 解決しましたか？
    const ans = await w.act(u, { type: 'postback', data: quick(cat.messages[0], 'ごみの収集日を知りたい') });
    expect(ans.messages[0]!.type).toBe('flex');
    expect(JSON.stringify(ans.messages[0])).toContain('https://example.jp/gomi');
    expect(ans.messages[1]!.text).toContain('解決しましたか？');
    expect(labels(ans.messages[1])).toEqual(['はい', 'いいえ', 'メニュー']);
    const no = await w.act(u, { type: 'postback', data: quick(ans.messages[1], 'いいえ') });
    expect(no.messages[0]!.text).toContain('お役に立てず申し訳ありません');
    expect(labels(no.messages[0])).toEqual(['ごみ・リサイクル', '防災']);

    const after = await stats();
    const views = (id: string, s: typeof after) => s.nodes.get(id)?.views ?? 0;
    expect(views('gomi', after) - views('gomi', before)).toBe(1);
    expect(views('gomi-days', after) - views('gomi-days', before)).toBe(1);
    expect(after.nodes.get('gomi-days')!.no).toBe(1);
    expect(after.nodes.get('gomi-days')!.rate).toBe(0);
    expect(after.unresolved[0]).toEqual({
      nodeId: 'gomi-days',
      path: 'ごみ・リサイクル › ごみの収集日を知りたい',
      no: 1,
    });
  });

  it('はい counts toward the resolution rate; follow-ups and go-to', async () => {
    const u = w.residents[1]!;
    const ans = await w.act(u, { type: 'postback', data: 'faq:n:gomi-sodai' });
    expect(ans.messages[0]).toMatchObject({ type: 'text' });
    expect(ans.messages[0]!.text).toContain('粗大ごみは事前申込制です');
    // the follow-up choice between the feedback and the menu
    expect(labels(ans.messages[1])).toEqual(['はい', 'いいえ', '粗大ごみの料金', 'メニュー']);
    await w.act(u, { type: 'postback', data: quick(ans.messages[1], 'はい') });
    await w.act(w.residents[2]!, { type: 'postback', data: 'faq:x:gomi-sodai' });
    const s = await stats();
    expect(s.nodes.get('gomi-sodai')).toMatchObject({ yes: 1, no: 1, rate: 0.5 });
    // go-to: the target is shown (and counted)
    const jump = await w.act(u, { type: 'postback', data: 'faq:n:hinan-map' });
    expect(jump.messages[0]!.text).toContain('【避難所の場所】');
    expect((await stats()).nodes.get('hinan')!.views).toBeGreaterThanOrEqual(1);
  });

  it('answers a redelivered event once and survives any postback or text', async () => {
    const u = w.residents[3]!;
    const first = await w.act(u, { type: 'postback', data: 'faq:menu' });
    const n = (await w.replies(u)).length;
    await w.registry.dispatch(TSU, [first.event]);
    expect((await w.replies(u)).length).toBe(n);
    const odd = ['faq:n:../../etc', 'faq:', 'faq:y:nope', `faq:n:${'x'.repeat(290)}`, 'faq:menu~999', 'faq:n:gomi~-1'];
    for (const data of odd) {
      const ev = await w.event(u, { type: 'postback', data });
      // the registry hands back the runs that failed (each logged); none may fail
      expect(await w.registry.run(w.registry.runsFor(TSU, [ev]))).toEqual([]);
    }
    // an event without a user or a reply token
    const bare = {
      ...first.event,
      webhookEventId: 'bare',
      source: { type: 'group' },
      replyToken: undefined,
    } as unknown as WebhookEvent;
    expect(await w.registry.run(w.registry.runsFor(TSU, [bare]))).toEqual([]);
  });
});

describe('typed questions', () => {
  it('stay with the auto-reply until the tenant turns them on', async () => {
    const ev = {
      type: 'message',
      source: { type: 'user', userId: w.residents[4]! },
      message: { type: 'text', text: '収集日' },
    };
    expect(await w.registry.messageClaimed({ tenantId: TSU, event: ev as unknown as WebhookEvent })).toBe(false);
    await w.faq.store.saveSettings(TSU, { acceptTyped: true, contact: '津市役所 059-000-0000' }, op, 'operator');
    expect(await w.registry.messageClaimed({ tenantId: TSU, event: ev as unknown as WebhookEvent })).toBe(true);
  });

  it('a clear match is answered; a vague one gets candidates (full/half width and kana normalised)', async () => {
    const u = w.residents[4]!;
    const clear = await w.act(u, { type: 'message', text: '粗大ゴミの出し方を教えて' });
    expect(clear.messages[0]!.text).toContain('【粗大ごみの出し方】');
    const half = await w.act(u, { type: 'message', text: 'ｺﾞﾐｶﾚﾝﾀﾞｰ' });
    expect(half.messages[0]!.type).toBe('flex');
    expect(JSON.stringify(half.messages[0])).toContain('ごみの収集日を知りたい');
    const vague = await w.act(u, { type: 'message', text: 'ゴミ' });
    expect(vague.messages[0]!.text).toContain('もしかして');
    expect(labels(vague.messages[0]).sort()).toEqual(
      ['ごみの収集日を知りたい', 'メニュー', '粗大ごみの出し方', '粗大ごみの料金'].sort(),
    );
    expect((await stats()).kinds.candidates).toBe(1);
  });

  it('no match: the AI endpoint answers (marked as AI, with feedback), or times out into the fallback', async () => {
    const u = w.residents[5]!;
    await w.faq.store.saveSettings(
      TSU,
      {
        acceptTyped: true,
        aiEndpoint: aiUrl,
        aiTimeoutMs: 500,
        keepUnmatched: true,
        retentionDays: 30,
        contact: '津市役所 059-000-0000',
      },
      op,
      'operator',
    );
    aiMode.mode = 'answer';
    const r = await w.act(u, { type: 'message', text: '図書館は何時まで開いていますか' });
    expect(aiMode.asked).toContain('図書館は何時まで開いていますか');
    expect(r.messages[0]!.text).toContain('【AI による自動回答】');
    expect(r.messages[0]!.text).toContain('図書館は 9 時から 19 時まで');
    expect(labels(r.messages[1])).toEqual(['はい', 'いいえ', 'メニュー']);
    await w.act(u, { type: 'postback', data: quick(r.messages[1], 'はい') });

    aiMode.mode = 'slow';
    const slow = await w.act(u, { type: 'message', text: '成人式の会場はどこ' });
    expect(slow.messages[0]!.text).toContain('当てはまる回答が見つかりませんでした');
    expect(slow.messages[0]!.text).toContain('津市役所 059-000-0000');
    expect(labels(slow.messages[0])).toEqual(['ごみ・リサイクル', '防災']);

    aiMode.mode = 'broken';
    const broken = await w.act(u, { type: 'message', text: 'プールの営業時間' });
    expect(broken.messages[0]!.text).toContain('当てはまる回答が見つかりませんでした');

    const s = await stats();
    expect(s.kinds.ai).toBe(1);
    expect(s.ai).toMatchObject({ views: 1, yes: 1, rate: 1 });
    expect(s.kinds.unmatched).toBe(3);
    expect(s.kinds.fallback).toBe(2);
    const kept = (await w.faq.stats.unmatched(TSU)).map((x) => x.text);
    expect(kept).toEqual(
      expect.arrayContaining(['図書館は何時まで開いていますか', '成人式の会場はどこ', 'プールの営業時間']),
    );
  });

  it('events from the log carry no text: the text the receiver held in memory is used, once; without it, the menu', async () => {
    const u = w.residents[2]!;
    expect(w.registry.wantsText).toBe(true);
    const logged = async (text: string, hold: boolean) => {
      const ev = await w.event(u, { type: 'message', text });
      if (hold) w.registry.holdText(TSU, ev.webhookEventId, text);
      const { text: _gone, ...message } = ev.message as Record<string, unknown>;
      return { ...ev, message } as WebhookEvent;
    };
    const before = (await w.replies(u)).length;
    const held = await logged('避難所はどこ', true);
    await w.registry.dispatch(TSU, [held]);
    const r1 = await waitFor(async () => (await w.replies(u))[before], 10_000, 'a reply');
    expect(r1.messages[0]!.text).toContain('【避難所の場所】');
    expect(w.registry.takeText({ tenantId: TSU, event: held })).toBeUndefined();
    const lost = await logged('避難所はどこ', false);
    await w.registry.dispatch(TSU, [lost]);
    const r2 = await waitFor(async () => (await w.replies(u))[before + 1], 10_000, 'a reply');
    expect(r2.messages[0]!.text).toContain('メニューから選んでください');
    // held text expires with the reply token
    w.registry.holdText(TSU, 'old-event', '古い質問', Date.now() - 61_000);
    expect(
      w.registry.takeText({ tenantId: TSU, event: { webhookEventId: 'old-event' } as WebhookEvent }),
    ).toBeUndefined();
  });

  it('a question that matches nothing is counted on the node viewed before it (or the top), once per event', async () => {
    await w.faq.store.saveSettings(TSU, { acceptTyped: true }, op, 'operator');
    const before = await stats();
    const fallback = (s: typeof before, id: string) => s.nodes.get(id)?.fallback ?? 0;
    // residents[0] last viewed ごみの収集日を知りたい (and answered いいえ); residents[3] only the menu
    const after0 = await w.act(w.residents[0]!, { type: 'message', text: '成人式の会場はどこ' });
    expect(after0.messages[0]!.text).toContain('当てはまる回答が見つかりませんでした');
    const fresh = await w.act(w.residents[3]!, { type: 'message', text: 'プールの営業時間' });
    expect(fresh.messages[0]!.text).toContain('当てはまる回答が見つかりませんでした');
    // residents[0] moves on; the same event handled again lands on the same context, once
    await w.act(w.residents[0]!, { type: 'postback', data: 'faq:n:hinan' });
    await w.registry.dispatch(TSU, [after0.event]);
    const s = await stats();
    expect(fallback(s, 'gomi-days') - fallback(before, 'gomi-days')).toBe(1);
    expect(fallback(s, '_top') - fallback(before, '_top')).toBe(1);
    expect(fallback(s, 'hinan')).toBe(fallback(before, 'hinan'));
    expect((s.kinds.fallback ?? 0) - (before.kinds.fallback ?? 0)).toBe(2);
    expect(s.fallbacks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nodeId: 'gomi-days', path: 'ごみ・リサイクル › ごみの収集日を知りたい' }),
        expect.objectContaining({ nodeId: '_top', path: 'メニュー (何も選ばずに入力)' }),
      ]),
    );
    expect(s.endings).toEqual(
      expect.arrayContaining([
        { nodeId: 'gomi-days', path: 'ごみ・リサイクル › ごみの収集日を知りたい', ending: 'no', count: 1 },
        {
          nodeId: 'gomi-days',
          path: 'ごみ・リサイクル › ごみの収集日を知りたい',
          ending: 'fallback',
          count: fallback(s, 'gomi-days'),
        },
      ]),
    );
    // no typed text in the events: only the node
    const rs = await w.h.ch.query({
      query: "SELECT DISTINCT node_id FROM faq_events WHERE kind = 'fallback' ORDER BY node_id",
      format: 'JSONEachRow',
    });
    for (const r of (await rs.json()) as Array<{ node_id: string }>)
      expect(['', '_top', ...SCENARIO.map((n) => n.id)]).toContain(r.node_id);
  });

  it('keeps no typed text unless the tenant turned that on', async () => {
    await w.faq.store.saveSettings(TSU, { acceptTyped: true }, op, 'operator');
    const before = (await w.faq.stats.unmatched(TSU)).length;
    const r = await w.act(w.residents[5]!, { type: 'message', text: '犬の登録はどこでできますか' });
    expect(r.messages[0]!.text).toContain('当てはまる回答が見つかりませんでした');
    expect((await w.faq.stats.unmatched(TSU)).length).toBe(before);
    const rs = await w.h.ch.query({
      query: "SELECT count() AS n FROM faq_unmatched WHERE text LIKE '%犬%'",
      format: 'JSONEachRow',
    });
    expect(Number(((await rs.json()) as Array<{ n: number }>)[0]!.n)).toBe(0);
  });
});
