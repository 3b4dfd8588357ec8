/**
 * Downloads of mileage's printables (authorised like the mileage API: a caller who may see the tenant):
 *
 *   GET /api/v1/mileage/tenants/:tenantId/sessions/:sessionId/qr.png        the session's QR code
 *   GET /api/v1/mileage/tenants/:tenantId/sessions/:sessionId/poster.pdf    its A4 poster
 *   GET /api/v1/mileage/tenants/:tenantId/programmes/:programmeId/flyer.pdf the publicity flyer (A4)
 *   GET /api/v1/mileage/tenants/:tenantId/programmes/:programmeId/flyer.png the same flyer as an image
 *   GET /api/v1/mileage/designs/:designId/card.svg | card.png               a design's card with sample data (preview)
 *
 * and, public (the card page inside LINE shows it; a design's artwork is no secret once published):
 *
 *   GET /liff/:tenantId/mileage/designs/:designId/artwork                   a published design's artwork
 *   GET /liff/:tenantId/mileage/card.png?k=<token>                          one resident's card as a PNG, for
 *       the card message (LINE fetches message images without credentials): the token is signed with a
 *       per-tenant key and names the programme and the resident; cardImagePath() makes it
 */
import { createHmac } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { type Authenticator, checkCsrf, type Principal } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from '../core/http.ts';
import { type LineEndpoints, lineClients } from '../core/line.ts';
import { tenantIdSchema, type TenantStore } from '../core/tenants.ts';
import { tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { requireRead } from './access.ts';
import type { CardService } from './cards.ts';
import type { Catalogue } from './catalogue.ts';
import { cardPng, cardSvg, SAMPLE_FACE } from './printables/card-image.ts';
import { flyerPdf, flyerPng, type FlyerInput } from './printables/flyer.ts';
import type { ImageType } from './printables/layout.ts';
import { qrPng } from './printables/qr.ts';
import { sessionPosterPdf } from './printables/session-poster.ts';
import type { Design, Programme } from './schemas.ts';
import type { CodeKeys } from './session-code.ts';
import type { SessionCodes } from './session-codes.ts';

export interface MileagePrintableDeps {
  tenants: Pick<TenantStore, 'require' | 'credentials'>;
  endpoints: () => LineEndpoints;
  catalogue: Pick<Catalogue, 'programme' | 'requireSession'>;
  cards: Pick<CardService, 'design' | 'image' | 'published' | 'card'>;
  codes: Pick<SessionCodes, 'forSession' | 'keys'>;
  /** The account's basic ID (@…); by default asked of LINE (GET /v2/bot/info) and kept for an hour. */
  basicId?: (tenantId: string) => Promise<string>;
}

const DEFAULT_CARD = { title: '三重とこわか健康応援カード', note: '', colour: '#1d6fa5' };
const idSchema = z.string().uuid('ID の形式が正しくありません');

/** `attachment` with the Japanese name for browsers and an ASCII one for the rest. */
function download(reply: FastifyReply, type: string, name: string, ascii: string, body: Buffer | string) {
  return reply
    .header('content-type', type)
    .header('cache-control', 'private, no-store')
    .header('content-disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`)
    .send(body);
}

/** A file name from people's words: no path or control characters, not too long. */
const fileName = (s: string) => s.replace(/[\\/:*?"<>|\x00-\x1f]+/g, '_').slice(0, 80);

/** The key card-image links are signed with: the tenant's code key, derived apart (never a session code's). */
const cardLinkKey = (keys: CodeKeys, tenantId: string) =>
  createHmac('sha256', keys(tenantId)).update('mileage-card-image').digest();

/**
 * The path of a resident's card image (served by registerMileagePrintableRoutes): what the card
 * message's image points at, under the suite's public URL.
 */
export async function cardImagePath(keys: CodeKeys, tenantId: string, programmeId: string, userId: string) {
  const token = await new SignJWT({ t: tenantId, p: programmeId, u: userId })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(cardLinkKey(keys, tenantId));
  // in the query: a route parameter is at most 100 characters, the token about 200
  return `/liff/${tenantId}/mileage/card.png?k=${token}`;
}

/** The flyer's content for a programme of a tenant. */
export function flyerInput(
  tenantName: string,
  programme: Programme,
  basicId: string,
  design: Pick<Design, 'title' | 'note'> | undefined,
): FlyerInput {
  return {
    municipality: tenantName,
    basicId,
    card: { title: design?.title ?? DEFAULT_CARD.title, note: design?.note ?? '' },
    programme: {
      name: programme.name,
      startsOn: programme.startsOn,
      endsOn: programme.endsOn,
      goalPoints: programme.goalPoints,
      cardValidMonths: programme.cardValidMonths,
      activities: programme.activities
        .filter((a) => !a.retired)
        .sort((a, b) => a.sort - b.sort)
        .map((a) => ({
          name: a.name,
          points: a.points,
          method: a.method,
          dailyCap: a.dailyCap,
          periodCap: a.periodCap,
        })),
    },
  };
}

/** The basic ID from LINE's bot info, per tenant, kept for an hour. */
function botBasicIds(deps: MileagePrintableDeps): (tenantId: string) => Promise<string> {
  const cache = new Map<string, { at: number; id: string }>();
  return async (tenantId) => {
    const hit = cache.get(tenantId);
    if (hit && Date.now() - hit.at < 3_600_000) return hit.id;
    const { messaging } = lineClients(await deps.tenants.credentials(tenantId), deps.endpoints());
    let basicId: string | undefined;
    try {
      basicId = (await messaging.getBotInfo()).basicId;
    } catch {
      throw new AppError(
        'line_bot_info_failed',
        'LINE からアカウントの ID (ベーシック ID) を取得できませんでした。チャネル情報を確認してください',
        502,
      );
    }
    if (!basicId) throw new AppError('line_no_basic_id', 'LINE アカウントの ID (ベーシック ID) がありません', 502);
    cache.set(tenantId, { at: Date.now(), id: basicId });
    return basicId;
  };
}

export function registerMileagePrintableRoutes(
  app: FastifyInstance,
  auth: Authenticator,
  deps: MileagePrintableDeps,
): void {
  const principals = new WeakMap<FastifyRequest, Principal>();
  const pre = {
    preHandler: async (req: FastifyRequest) => {
      const p = await auth.require(req);
      checkCsrf(req, p);
      principals.set(req, p);
    },
  };
  const param = (req: FastifyRequest, k: string) => String((req.params as Record<string, string>)[k] ?? '');
  const readable = (req: FastifyRequest) => {
    const r = tenantIdSchema.safeParse(param(req, 'tenantId'));
    if (!r.success) throw new AppError('invalid_tenant', 'テナント ID が正しくありません', 400);
    requireRead(principals.get(req)!, r.data);
    return r.data;
  };
  // an id that names nothing is a 404 from the catalogue or the card service, whatever its form
  const id = (req: FastifyRequest, k: string) => param(req, k).slice(0, 100);
  const basicId = deps.basicId ?? botBasicIds(deps);
  const base = '/api/v1/mileage/tenants/:tenantId';

  /** The session, its tenant and the URL its QR code opens (409 when the tenant has no LIFF app). */
  const sessionOf = async (req: FastifyRequest) => {
    const tenantId = readable(req);
    const tenant = await deps.tenants.require(tenantId);
    const session = await deps.catalogue.requireSession(tenantId, id(req, 'sessionId'));
    const code = await deps.codes.forSession(tenant, session);
    if (!code.url) {
      throw new AppError(
        'liff_not_configured',
        `${tenant.name}には LIFF アプリが設定されていないため、QR コードを作れません。チャネル設定で LIFF ID を登録してください`,
        409,
      );
    }
    return { tenant, session, url: code.url };
  };

  app.get(`${base}/sessions/:sessionId/qr.png`, pre, async (req, reply) => {
    const { session, url } = await sessionOf(req);
    return download(reply, 'image/png', `${fileName(session.title)}_QRコード.png`, 'mileage-qr.png', await qrPng(url));
  });

  app.get(`${base}/sessions/:sessionId/poster.pdf`, pre, async (req, reply) => {
    const { tenant, session, url } = await sessionOf(req);
    const programme = await deps.catalogue.programme(tenant.id, session.programmeId);
    const activity = programme.activities.find((a) => a.activityId === session.activityId);
    const pdf = await sessionPosterPdf({
      municipality: tenant.name,
      programme: programme.name,
      session: {
        title: session.title,
        heldOn: session.heldOn,
        place: session.place,
        validFrom: Date.parse(session.validFrom),
        validUntil: Date.parse(session.validUntil),
      },
      activity: { name: activity?.name ?? '', points: activity?.points ?? 0 },
      url,
    });
    return download(reply, 'application/pdf', `${fileName(session.title)}_ポスター.pdf`, 'mileage-poster.pdf', pdf);
  });

  const flyerOf = async (req: FastifyRequest) => {
    const tenantId = readable(req);
    const tenant = await deps.tenants.require(tenantId);
    const programme = await deps.catalogue.programme(tenantId, id(req, 'programmeId'));
    const [account, design] = await Promise.all([basicId(tenantId), deps.cards.published()]);
    return { tenant, input: flyerInput(tenant.name, programme, account, design) };
  };
  app.get(`${base}/programmes/:programmeId/flyer.pdf`, pre, async (req, reply) => {
    const { tenant, input } = await flyerOf(req);
    const name = `${fileName(tenant.name)}_健康マイレージ_チラシ.pdf`;
    return download(reply, 'application/pdf', name, 'mileage-flyer.pdf', await flyerPdf(input));
  });
  app.get(`${base}/programmes/:programmeId/flyer.png`, pre, async (req, reply) => {
    const { tenant, input } = await flyerOf(req);
    const name = `${fileName(tenant.name)}_健康マイレージ_チラシ.png`;
    return download(reply, 'image/png', name, 'mileage-flyer.png', flyerPng(input));
  });

  /** A design's look with its artwork. */
  const lookOf = async (designId: string) => {
    const design = await deps.cards.design(designId);
    const image = design.hasImage ? await deps.cards.image(designId) : undefined;
    return {
      title: design.title,
      note: design.note,
      colour: design.colour,
      image: image ? { bytes: image.bytes, type: image.type as ImageType } : undefined,
    };
  };
  const previewFace = (req: FastifyRequest) => {
    const q = z.object({ expired: z.enum(['0', '1']).optional() }).parse(req.query ?? {});
    return { ...SAMPLE_FACE, municipality: '○○市', expired: q.expired === '1' };
  };
  app.get('/api/v1/mileage/designs/:designId/card.svg', pre, async (req, reply) =>
    reply
      .header('content-type', 'image/svg+xml; charset=utf-8')
      .header('cache-control', 'private, no-store')
      .header('content-security-policy', "default-src 'none'; img-src data:; style-src 'unsafe-inline'")
      .send(cardSvg(await lookOf(id(req, 'designId')), previewFace(req))),
  );
  app.get('/api/v1/mileage/designs/:designId/card.png', pre, async (req, reply) =>
    reply
      .header('content-type', 'image/png')
      .header('cache-control', 'private, no-store')
      .send(cardPng(await lookOf(id(req, 'designId')), previewFace(req))),
  );

  app.get('/liff/:tenantId/mileage/designs/:designId/artwork', async (req, reply) => {
    const r = idSchema.safeParse(param(req, 'designId'));
    const design =
      r.success && tenantIdSchema.safeParse(param(req, 'tenantId')).success
        ? await deps.cards.design(r.data).catch(() => undefined)
        : undefined;
    // drafts stay with staff (their preview goes through the API)
    const image =
      design?.status === 'published' && design.hasImage ? await deps.cards.image(design.designId) : undefined;
    if (!image) throw new AppError('artwork_not_found', 'カードの画像が見つかりません', 404);
    return reply
      .header('content-type', image.type === 'image/jpeg' ? 'image/jpeg' : 'image/png')
      .header('cache-control', 'public, max-age=3600')
      .header('x-content-type-options', 'nosniff')
      .send(image.bytes);
  });

  app.get('/liff/:tenantId/mileage/card.png', async (req, reply) => {
    const notFound = () => new AppError('card_not_found', 'カードが見つかりません', 404);
    const tenantId = tenantIdSchema.safeParse(param(req, 'tenantId'));
    if (!tenantId.success) throw notFound();
    let claims: { p: string; u: string };
    try {
      const token = String((req.query as Record<string, unknown> | undefined)?.k ?? '');
      const { payload } = await jwtVerify(token, cardLinkKey(deps.codes.keys, tenantId.data), {
        algorithms: ['HS256'],
      });
      if (payload.t !== tenantId.data || typeof payload.p !== 'string' || typeof payload.u !== 'string')
        throw notFound();
      claims = { p: payload.p, u: payload.u };
    } catch {
      throw notFound();
    }
    const card = await deps.cards.card(tenantId.data, claims.p, claims.u);
    if (!card) throw notFound();
    const [tenant, design] = await Promise.all([
      deps.tenants.require(tenantId.data),
      card.designId ? deps.cards.design(card.designId).catch(() => undefined) : deps.cards.published(),
    ]);
    const look = design ? await lookOf(design.designId) : DEFAULT_CARD;
    const png = cardPng(look, {
      municipality: tenant.name,
      cardNo: card.cardNo,
      issuedOn: tokyoToday(Date.parse(card.issuedAt)),
      validUntil: card.validUntil,
      expired: card.expired,
    });
    return reply.header('content-type', 'image/png').header('cache-control', 'private, max-age=300').send(png);
  });
}
