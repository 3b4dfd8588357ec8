/**
 * The world's answers against LINE's own OpenAPI specs (../shared/line-openapi/): webhook bodies
 * against webhook.yml's CallbackRequest, Insight answers against insight.yml's responses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { lineOpenApiDir, validateResponse } from '../../sandbox/openapi.ts';
import { createWorld, DAY_MS, dayToYmd, jstDay, type WebhookEvent } from '../../sandbox/residents/index.ts';
import type { SandboxConfig } from '../../sandbox/world.ts';

const START = '2025-04-01T00:00:00+09:00';
const START_MS = Date.parse(START);

function world(events: WebhookEvent[]) {
  const config: SandboxConfig = {
    channels: [
      {
        channelId: '2000000001',
        botUserId: 'U' + 'cd'.repeat(16),
        channelSecret: 'secret',
        channelAccessToken: 'token',
        redelivery: true,
        displayName: 'テスト町',
        residents: {
          count: 20_000,
          seed: 3,
          initialFriendRatio: 0.3,
          followRatePerDay: 0.01,
          blockRatePerDay: 0.01,
          unblockRatePerDay: 0.1,
          openProbability: 0.6,
          clickProbability: 0.3,
          fatigueThresholdPerWeek: 3,
          fatigueBlockProbability: 0.01,
        },
      },
    ],
    rateLimits: { defaultPerSecond: 2000, multicastPerSecond: 200, perHourEndpoints: 60 },
    clock: { start: START, speed: 1 },
  };
  return createWorld(config, { now: () => START_MS, onEvent: (_c, e) => events.push(e) });
}

/** webhook.yml's event schemas by event type (each is `allOf: [Event, …]`; discriminators ignored). */
function webhookValidator() {
  const spec = parseYaml(readFileSync(join(lineOpenApiDir(), 'webhook.yml'), 'utf8')) as {
    components: { schemas: Record<string, unknown> };
  };
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ components: spec.components }, 'webhook.yml');
  const compile = (name: string) => ajv.compile({ $ref: `webhook.yml#/components/schemas/${name}` });
  const byType: Partial<Record<string, ReturnType<typeof compile>>> = {
    follow: compile('FollowEvent'),
    unfollow: compile('UnfollowEvent'),
    postback: compile('PostbackEvent'),
    message: compile('MessageEvent'),
    videoPlayComplete: compile('VideoPlayCompleteEvent'),
  };
  const body = compile('CallbackRequest');
  const text = compile('TextMessageContent');
  const user = compile('UserSource');
  return (destination: string, events: WebhookEvent[]): string[] => {
    const problems: string[] = [];
    const say = (what: string, v: { errors?: unknown }) => problems.push(`${what}: ${JSON.stringify(v.errors)}`);
    if (!body({ destination, events })) say('body', body);
    for (const e of events) {
      const type = e.type;
      const v = byType[type];
      if (!v) problems.push(`unexpected type ${type}`);
      else if (!v(e as unknown)) say(type, v);
      if (!user(e.source)) say('source', user);
      if (e.type === 'message' && !text(e.message)) say('message', text);
    }
    return problems;
  };
}

const messages = [
  { type: 'text', text: '健康マイレージのお知らせ https://example.jp/mileage' },
  {
    type: 'video',
    originalContentUrl: 'https://example.jp/v.mp4',
    previewImageUrl: 'https://example.jp/v.jpg',
    trackingId: 'walk-video',
  },
  {
    type: 'template',
    altText: '属性登録',
    template: {
      type: 'buttons',
      text: '年代を教えてください',
      actions: [
        { type: 'postback', label: '登録', data: 'register=age' },
        { type: 'message', label: 'はい', text: 'はい' },
        { type: 'datetimepicker', label: '日付', data: 'pick=date', mode: 'date' },
        { type: 'uri', label: '詳しく', uri: 'https://example.jp/about' },
      ],
    },
  },
];

describe('the world against LINE’s specs', () => {
  it('sends webhook bodies that conform to CallbackRequest', async () => {
    const events: WebhookEvent[] = [];
    const w = world(events);
    const ch = w.channels()[0]!;
    ch.recordDelivery({
      requestId: 'push-1',
      kind: 'multicast',
      recipients: ch.followerIds().slice(0, 3000),
      messageCount: 3,
      messages,
      at: w.now(),
    });
    await w.advanceBy(2 * DAY_MS);
    const types = new Set(events.map((e) => e.type));
    expect(types).toEqual(new Set(['follow', 'unfollow', 'postback', 'message', 'videoPlayComplete']));
    const validate = webhookValidator();
    for (const type of types) {
      const sample = events.filter((e) => e.type === type).slice(0, 20);
      expect(validate('U' + 'cd'.repeat(16), sample), type).toEqual([]);
    }
    // The validator does catch a wrong shape.
    expect(validate('U' + 'cd'.repeat(16), [{ ...events[0]!, timestamp: 'soon' as unknown as number }])).not.toEqual(
      [],
    );
    const picked = events.find((e) => e.type === 'postback' && (e.postback as { data: string }).data === 'pick=date');
    expect(picked?.postback).toEqual({
      data: 'pick=date',
      params: { date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) },
    });
    await w.stop();
  });

  it('answers Insight requests in the documented shapes', async () => {
    const w = world([]);
    const ch = w.channels()[0]!;
    const ids = ch.followerIds();
    ch.recordDelivery({
      requestId: 'bc-1',
      kind: 'broadcast',
      recipients: ids,
      messageCount: 3,
      messages,
      at: w.now(),
    });
    ch.recordDelivery({
      requestId: 'mc-1',
      kind: 'multicast',
      recipients: ids.slice(0, 500),
      messageCount: 3,
      messages,
      customAggregationUnits: ['walk_2025'],
      at: w.now(),
    });
    ch.recordDelivery({
      requestId: 'mc-2',
      kind: 'multicast',
      recipients: ids.slice(0, 10),
      messageCount: 1,
      messages,
      customAggregationUnits: ['tiny'],
      at: w.now(),
    });
    await w.advanceBy(3 * DAY_MS);
    const yesterday = dayToYmd(jstDay(w.now()) - 1);
    const today = dayToYmd(jstDay(w.now()));
    const check = (op: string, body: unknown) => expect(validateResponse(op, 200, body), op).toEqual([]);
    for (const d of [yesterday, today, '20160101', dayToYmd(jstDay(START_MS) - 30)]) {
      check('getNumberOfFollowers', ch.followersInsight(d));
      check('getNumberOfMessageDeliveries', ch.messageDeliveriesInsight(d));
    }
    check('getFriendsDemographics', ch.demographicInsight());
    const ev = ch.messageEventInsight('bc-1')!;
    check('getMessageEvent', ev);
    const ov = ev.overview as Record<string, number | null>;
    expect(ov.uniqueMediaPlayed).toBeGreaterThan(20);
    expect(ov.uniqueMediaPlayed100Percent).toBeGreaterThan(20);
    const video = (ev.messages as Array<Record<string, number | null>>)[1]!;
    expect(video.mediaPlayed!).toBeGreaterThanOrEqual(video.uniqueMediaPlayed!);
    expect(video.uniqueMediaPlayed25Percent!).toBeGreaterThanOrEqual(video.uniqueMediaPlayed100Percent!);
    const from = dayToYmd(jstDay(START_MS));
    const to = dayToYmd(jstDay(START_MS) + 10);
    check('getStatisticsPerUnit', ch.aggregationUnitInsight('walk_2025', from, to));
    const tiny = ch.aggregationUnitInsight('tiny', from, to);
    check('getStatisticsPerUnit', tiny);
    expect(tiny.overview).toEqual({
      uniqueImpression: null,
      uniqueClick: null,
      uniqueMediaPlayed: null,
      uniqueMediaPlayed100Percent: null,
    });
    await w.stop();
  });
});
