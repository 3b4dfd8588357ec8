/**
 * The rich menu editor on its own against the sandbox, for test/delivery/rich-menu-*.test.ts: a
 * harness (embedded ClickHouse, a sandbox channel with still residents, one tenant wired to it),
 * the editor with a movable clock (schedules) and a short retry pause, and helpers: PNG/JPEG
 * images of a given size, an operator's audit context, what a resident sees in the sandbox, a
 * design saved as a draft and a menu (tab) drafted or published in one call.
 */
import { Resvg } from '@resvg/resvg-js';
import type { AuditContext } from '../../core/audit.ts';
import { createLogger } from '../../core/logger.ts';
import { ResidentStore } from '../../delivery/residents.ts';
import { RichMenuService } from '../../delivery/rich-menu.ts';
import { type Menu, type MenuVersion, RichMenuEditor } from '../../delivery/rich-menus/index.ts';
import type { SandboxServerOptions } from '../../sandbox/index.ts';
import { type Harness, harness, sandboxHook, stillResidents } from './index.ts';

export const RM_TENANT = '24205';
export const RM_CHANNEL = '3000000205';
export const operator: AuditContext = { actor: { kind: 'operator' }, ip: '127.0.0.1', userAgent: 'test' };

export interface RichMenuFixture {
  h: Harness;
  editor: RichMenuEditor;
  residents: ResidentStore;
  legacy: RichMenuService;
  /** The editor's clock (schedules): set `clock.now`. */
  clock: { now: number };
  /** The sandbox's real-time clock (rate-limit windows): set `sandboxClock.now`. */
  sandboxClock: { now: number };
  /** Some friends of the channel. */
  friends: string[];
  /** Another editor on the same parts (as after a restart); not started. */
  makeEditor(): RichMenuEditor;
  /** Every answer of the sandbox's Messaging API (operation and status). */
  calls: Array<{ operationId?: string; status: number; body: unknown }>;
}

export async function richMenuFixture(
  opts: { richMenuPerHour?: number; prefix?: string; liff?: boolean } = {},
): Promise<RichMenuFixture> {
  const clock = { now: Date.parse('2026-04-01T00:00:00Z') };
  const sandboxClock = { now: Date.now() };
  const calls: RichMenuFixture['calls'] = [];
  const server: SandboxServerOptions = {
    clock: () => sandboxClock.now,
    onResponse: (r) => calls.push({ operationId: r.operationId, status: r.status, body: r.body }),
  };
  const h = await harness({
    prefix: opts.prefix ?? 'tayori-rich-menu-',
    sandbox: {
      config: {
        channels: [
          {
            channelId: RM_CHANNEL,
            botUserId: `U${'5'.repeat(32)}`,
            channelSecret: 'rich-menu-secret',
            channelAccessToken: 'rich-menu-token',
            residents: stillResidents(1200, 5),
          },
        ],
        rateLimits: { richMenuPerHour: opts.richMenuPerHour ?? 100 },
      },
      server,
    },
    tenants: [{ id: RM_TENANT, name: '鳥羽市', kind: 'municipality', channelId: RM_CHANNEL, credentials: 'sandbox' }],
  });
  const endpoints = () => ({ line: 'http://127.0.0.1:1', sandbox: h.sandbox.url });
  const residents = new ResidentStore(h.ch);
  h.defer('close residents', () => residents.close());
  const legacy = new RichMenuService({ ch: h.ch, tenants: h.tenants, endpoints });
  const makeEditor = () =>
    new RichMenuEditor({
      ch: h.ch,
      tenants: h.tenants,
      endpoints,
      residents,
      legacy,
      logger: createLogger(process.env.TEST_LOG ?? 'silent'),
      clock: () => clock.now,
      tickMs: 0,
      queue: { retryMs: 20, maxRetryMs: 200 },
      liffUrl: opts.liff === false ? undefined : (t, path) => `https://liff.line.me/2000000000-${t.id}/${path}`,
    });
  const editor = makeEditor();
  editor.start();
  h.defer('stop the editor', () => editor.stop());
  const picked = await sandboxHook(h.sandbox.url, 'POST', `/channels/${RM_CHANNEL}/residents?friends=20`);
  return { h, editor, residents, legacy, clock, sandboxClock, friends: picked.friends as string[], calls, makeEditor };
}

/** A PNG of this size (one colour per half, so the image is not trivially empty). */
export function pngOf(width: number, height: number, fill = '#1565c0'): Buffer {
  return new Resvg(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${fill}"/><rect width="50%" height="100%" fill="#ef6c00"/></svg>`,
  )
    .render()
    .asPng();
}

/** A minimal JPEG header (SOI, APP0, SOF0 with the size, EOI): enough for LINE's and our header checks. */
export function jpegOf(width: number, height: number): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0, 0, 1, 0, 1, 0, 0]);
  const sof = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])]);
}

/** Uploads an image through the editor → its id. */
export async function upload(f: RichMenuFixture, bytes: Buffer, type = 'image/png'): Promise<string> {
  return (await f.editor.uploadImage(RM_TENANT, { type, data: bytes.toString('base64') }, operator)).imageId;
}

/** What the sandbox shows a resident: the rich menu id (or '') and the menu object. */
export async function shownTo(f: RichMenuFixture, userId: string): Promise<{ id: string; html: string }> {
  const res = await fetch(`${f.h.sandbox.url}/__sandbox/rich-menus/${RM_CHANNEL}/${userId}`);
  const html = await res.text();
  return { id: /data-rich-menu-id="([^"]*)"/.exec(html)?.[1] ?? '', html };
}

/** The channel's default rich menu id in the sandbox ('' when none). */
export function defaultMenu(f: RichMenuFixture): string {
  return f.h.sandbox.api.state.richMenus.defaultId(RM_CHANNEL) ?? '';
}

/** A design as staff send it; name and layout default to the chat bar text and compact-1. */
export interface TestDesign {
  chatBarText: string;
  name?: string;
  layout?: string;
  /** An uploaded image's id, or bytes to upload (default: a 2500×843 PNG). */
  image?: string | Buffer;
  areas: unknown[];
}

/** Saves this design as the menu's draft (its image uploaded first when given as bytes). */
export async function saveDesign(f: RichMenuFixture, menuId: string, d: TestDesign): Promise<MenuVersion> {
  const imageId = typeof d.image === 'string' ? d.image : await upload(f, d.image ?? pngOf(2500, 843));
  const design = { name: d.name ?? d.chatBarText, chatBarText: d.chatBarText, layout: d.layout ?? 'compact-1' };
  return f.editor.saveDraft(RM_TENANT, menuId, { ...design, imageId, areas: d.areas }, operator);
}

/** Publishes a saved version and waits until it is live on LINE → the menu. */
export async function publishVersion(f: RichMenuFixture, menuId: string, version: number): Promise<Menu> {
  return (await f.editor.publish(RM_TENANT, menuId, version, operator)).done;
}

/** A new menu (tab) titled so, with this design as its draft → its id and the draft. */
export async function draftMenu(
  f: RichMenuFixture,
  title: string,
  d: TestDesign,
): Promise<{ menuId: string; draft: MenuVersion }> {
  const { menuId } = await f.editor.createMenu(RM_TENANT, { title }, operator);
  return { menuId, draft: await saveDesign(f, menuId, d) };
}

/** A new menu (tab) titled so, with this design published → the live menu. */
export async function publishMenu(f: RichMenuFixture, title: string, d: TestDesign): Promise<Menu> {
  const { menuId, draft } = await draftMenu(f, title, d);
  return publishVersion(f, menuId, draft.version);
}
