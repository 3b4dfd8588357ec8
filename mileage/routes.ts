/**
 * The staff JSON API of mileage/ (same authentication as delivery's: a session with its CSRF token,
 * a personal API token, or the operator token). Bodies and answers: mileage/schemas.ts.
 *
 *   GET    /api/v1/mileage/programmes[?tenant=]                       every visible tenant's programmes
 *   POST   /api/v1/mileage/tenants/:tenantId/programmes                {ProgrammeInput}            (manage)
 *   GET    /api/v1/mileage/tenants/:tenantId/programmes/:programmeId
 *   PUT    /api/v1/mileage/tenants/:tenantId/programmes/:programmeId   {partial ProgrammeInput}    (manage)
 *   POST   …/programmes/:programmeId/activities                        {ActivityInput}             (manage)
 *   PUT    …/programmes/:programmeId/activities/:activityId            {partial ActivityInput}     (manage)
 *   POST   …/programmes/:programmeId/activities/:activityId/retire                                 (manage)
 *   DELETE …/programmes/:programmeId/activities/:activityId   deleted if it has no awards, else retired (manage)
 *   GET    /api/v1/mileage/tenants/:tenantId/sessions[?programmeId=]
 *   POST   /api/v1/mileage/tenants/:tenantId/sessions                  {SessionInput}              (manage)
 *   GET    /api/v1/mileage/tenants/:tenantId/sessions/:sessionId
 *   PUT    /api/v1/mileage/tenants/:tenantId/sessions/:sessionId       {partial SessionInput}      (manage)
 *   DELETE /api/v1/mileage/tenants/:tenantId/sessions/:sessionId       retire (the code stops working)
 *   GET    /api/v1/mileage/tenants/:tenantId/sessions/:sessionId/code  → SessionCode (what the QR encodes)
 *   POST   …/programmes/:programmeId/grants                            {GrantInput} → AwardResult  (grant)
 *   POST   …/programmes/:programmeId/corrections                       {CorrectionInput} → AwardResult (grant)
 *   POST   …/programmes/:programmeId/imports                           {fileName, data, reason} → ImportPreview (grant)
 *   POST   …/programmes/:programmeId/imports/:importId/confirm         → ImportConfirmation        (grant)
 *   GET    …/programmes/:programmeId/participants[?limit&offset&q&order] → ParticipantsPage (50 a page, at most 500)
 *   GET    …/programmes/:programmeId/participants.csv                  UTF-8 BOM CSV of all, streamed (audited export)
 *   GET    …/programmes/:programmeId/members/:memberNo/ledger[?limit&offset] (audited lookup)
 *   GET    /api/v1/mileage/designs   GET /designs/current   GET /designs/:designId   GET /designs/:designId/image
 *   POST   /api/v1/mileage/designs   PUT /designs/:designId   POST /designs/:designId/publish   (prefecture: design)
 *
 * (manage): マイレージ管理 or チャネルの管理; (grant): マイレージ管理, not the prefecture; (design):
 * prefecture or admin with マイレージ管理. Reads: anyone who may see the tenant.
 */
import { type Authenticator, visibleTenants } from '../core/auth.ts';
import type { AuditLog } from '../core/audit.ts';
import { Readable } from 'node:stream';
import { CSV_BOM, csvLine } from '../core/csv.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyRequest } from '../core/http.ts';
import { staffRequests } from '../core/staff-requests.ts';
import { tenantIdSchema, type TenantStore } from '../core/tenants.ts';
import { tokyoMinute } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { requireRead } from './access.ts';
import type { CardService } from './cards.ts';
import type { Catalogue } from './catalogue.ts';
import type { Grants } from './grants.ts';
import type { LedgerReads } from './ledger.ts';
import type { Members } from './members.ts';
import { historyQuerySchema, type Participant, participantsQuerySchema } from './schemas.ts';
import type { SessionCodes } from './session-codes.ts';

export interface MileageRouteDeps {
  auth: Authenticator;
  audit: AuditLog;
  tenants: TenantStore;
  catalogue: Catalogue;
  grants: Grants;
  ledger: LedgerReads;
  members: Members;
  cards: CardService;
  codes: SessionCodes;
}

const PARTICIPANTS_CSV_HEADER = [
  '会員番号',
  '残高 (ポイント)',
  '記録数',
  '初回参加',
  '最終記録',
  'カード番号',
  'カード発行日',
  'カード有効期限',
  'カードの状態',
];

/** Participants as CSV lines (each ending in CRLF). */
function participantsCsvLines(list: readonly Participant[]): string {
  return list
    .map((p) =>
      csvLine([
        p.memberNo,
        p.balance,
        p.entries,
        tokyoMinute(Date.parse(p.firstAt)),
        tokyoMinute(Date.parse(p.lastAt)),
        p.card?.cardNo ?? '',
        p.card ? tokyoMinute(Date.parse(p.card.issuedAt)).slice(0, 10) : '',
        p.card?.validUntil ?? '',
        p.card ? (p.card.expired ? '期限切れ' : '有効') : '',
      ]),
    )
    .join('');
}

/** The whole CSV of a list: the BOM, the header, the rows. */
export function participantsCsv(list: readonly Participant[]): string {
  return CSV_BOM + csvLine(PARTICIPANTS_CSV_HEADER) + participantsCsvLines(list);
}

/** The CSV as text pieces, the BOM and header first, then a piece per batch of participants. */
async function* participantsCsvStream(batches: AsyncIterable<Participant[]>): AsyncGenerator<string> {
  yield CSV_BOM + csvLine(PARTICIPANTS_CSV_HEADER);
  for await (const batch of batches) yield participantsCsvLines(batch);
}

export function registerMileageRoutes(app: FastifyInstance, deps: MileageRouteDeps): void {
  const { auth, audit, tenants, catalogue, grants, ledger, members, cards, codes } = deps;
  const { pre, who, by, param, tenantId: tid } = staffRequests(auth);
  /** The tenant for a reader (403 for a tenant the caller may not see). */
  const readable = (req: FastifyRequest) => {
    const id = tid(req);
    requireRead(who(req), id);
    return id;
  };
  const base = '/api/v1/mileage/tenants/:tenantId';
  const prog = `${base}/programmes/:programmeId`;

  app.get('/api/v1/mileage/programmes', pre, async (req) => {
    const q = z.object({ tenant: tenantIdSchema.optional() }).parse(req.query ?? {});
    const all = (await tenants.list()).map((t) => t.id);
    const ids = visibleTenants(who(req), q.tenant ? all.filter((t) => t === q.tenant) : all);
    if (q.tenant && ids.length === 0) requireRead(who(req), q.tenant);
    const lists = await Promise.all(ids.map((id) => catalogue.list(who(req), id)));
    return { programmes: lists.flat() };
  });
  app.post(`${base}/programmes`, pre, async (req, reply) =>
    reply.status(201).send(await catalogue.createProgramme(tid(req), req.body, by(req))),
  );
  app.get(prog, pre, async (req) => catalogue.programme(readable(req), param(req, 'programmeId')));
  app.put(prog, pre, async (req) => catalogue.updateProgramme(tid(req), param(req, 'programmeId'), req.body, by(req)));
  app.post(`${prog}/activities`, pre, async (req, reply) =>
    reply.status(201).send(await catalogue.addActivity(tid(req), param(req, 'programmeId'), req.body, by(req))),
  );
  app.put(`${prog}/activities/:activityId`, pre, async (req) =>
    catalogue.updateActivity(tid(req), param(req, 'programmeId'), param(req, 'activityId'), req.body, by(req)),
  );
  app.post(`${prog}/activities/:activityId/retire`, pre, async (req) =>
    catalogue.retireActivity(tid(req), param(req, 'programmeId'), param(req, 'activityId'), by(req)),
  );
  app.delete(`${prog}/activities/:activityId`, pre, async (req) =>
    catalogue.retireActivity(tid(req), param(req, 'programmeId'), param(req, 'activityId'), by(req), { remove: true }),
  );

  app.get(`${base}/sessions`, pre, async (req) => {
    const q = z.object({ programmeId: z.string().max(40).optional() }).parse(req.query ?? {});
    return { sessions: await catalogue.sessions(who(req), tid(req), q.programmeId ?? '') };
  });
  app.post(`${base}/sessions`, pre, async (req, reply) =>
    reply.status(201).send(await catalogue.createSession(tid(req), req.body, by(req))),
  );
  app.get(`${base}/sessions/:sessionId`, pre, async (req) =>
    catalogue.requireSession(readable(req), param(req, 'sessionId')),
  );
  app.put(`${base}/sessions/:sessionId`, pre, async (req) =>
    catalogue.updateSession(tid(req), param(req, 'sessionId'), req.body, by(req)),
  );
  app.delete(`${base}/sessions/:sessionId`, pre, async (req, reply) => {
    await catalogue.retireSession(tid(req), param(req, 'sessionId'), by(req));
    return reply.status(204).send();
  });
  app.get(`${base}/sessions/:sessionId/code`, pre, async (req) => {
    const tenantId = readable(req);
    return codes.forSession(
      await tenants.require(tenantId),
      await catalogue.requireSession(tenantId, param(req, 'sessionId')),
    );
  });

  app.post(`${prog}/grants`, pre, async (req) => grants.grant(tid(req), param(req, 'programmeId'), req.body, by(req)));
  app.post(`${prog}/corrections`, pre, async (req) =>
    grants.correct(tid(req), param(req, 'programmeId'), req.body, by(req)),
  );
  app.post(`${prog}/imports`, { ...pre, bodyLimit: 6 * 1024 * 1024 }, async (req) =>
    grants.preview(tid(req), param(req, 'programmeId'), req.body, by(req)),
  );
  app.post(`${prog}/imports/:importId/confirm`, pre, async (req) =>
    grants.confirm(tid(req), param(req, 'programmeId'), param(req, 'importId'), by(req)),
  );

  app.get(`${prog}/participants`, pre, async (req) => {
    const tenantId = readable(req);
    const page = participantsQuerySchema.parse(req.query ?? {});
    const programme = await catalogue.programme(tenantId, param(req, 'programmeId'));
    return ledger.participants(tenantId, programme, page);
  });
  app.get(`${prog}/participants.csv`, pre, async (req, reply) => {
    const tenantId = readable(req);
    const programme = await catalogue.programme(tenantId, param(req, 'programmeId'));
    const summary = await ledger.participantCounts(tenantId, programme);
    const pieces = participantsCsvStream(ledger.allParticipants(tenantId, programme.programmeId));
    // the header and the first rows first: a failure to read is still an error status, not a cut-off file
    const [head, first] = [await pieces.next(), await pieces.next()];
    await audit.by(by(req), {
      action: 'export',
      tenantId,
      target: `mileage-participants:${programme.programmeId}`,
      detail: { rows: summary.participants },
    });
    const body = Readable.from(
      (async function* () {
        for (const r of [head, first]) if (!r.done) yield r.value;
        yield* pieces;
      })(),
    );
    const name = `${programme.name}_参加者.csv`;
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header(
        'content-disposition',
        `attachment; filename="mileage-participants.csv"; filename*=UTF-8''${encodeURIComponent(name)}`,
      )
      .send(body);
  });
  app.get(`${prog}/members/:memberNo/ledger`, pre, async (req) => {
    const tenantId = readable(req);
    const programme = await catalogue.programme(tenantId, param(req, 'programmeId'));
    const member = await members.resolve(tenantId, param(req, 'memberNo'));
    const page = historyQuerySchema.parse(req.query ?? {});
    await ledger.settle();
    await audit.by(by(req), {
      action: 'resident_lookup',
      tenantId,
      target: member.memberNo,
      detail: { what: 'mileage_ledger', programmeId: programme.programmeId },
    });
    const [history, balance, card] = await Promise.all([
      ledger.history(tenantId, programme, member.userId, page),
      ledger.balance(tenantId, programme.programmeId, member.userId),
      cards.card(tenantId, programme.programmeId, member.userId),
    ]);
    return { memberNo: member.memberNo, balance, goal: programme.goalPoints, card, ...history, ...page };
  });

  app.get('/api/v1/mileage/designs', pre, async () => ({ designs: await cards.designs() }));
  app.get('/api/v1/mileage/designs/current', pre, async () => ({ design: (await cards.published()) ?? null }));
  app.get('/api/v1/mileage/designs/:designId', pre, async (req) => cards.design(param(req, 'designId')));
  app.get('/api/v1/mileage/designs/:designId/image', pre, async (req, reply) => {
    const img = await cards.image(param(req, 'designId'));
    if (!img) throw new AppError('design_no_image', 'このデザインには画像がありません', 404);
    return reply.header('content-type', img.type).header('cache-control', 'private, max-age=60').send(img.bytes);
  });
  app.post('/api/v1/mileage/designs', { ...pre, bodyLimit: 2 * 1024 * 1024 }, async (req, reply) =>
    reply.status(201).send(await cards.createDesign(req.body, by(req))),
  );
  app.put('/api/v1/mileage/designs/:designId', { ...pre, bodyLimit: 2 * 1024 * 1024 }, async (req) =>
    cards.updateDesign(param(req, 'designId'), req.body, by(req)),
  );
  app.post('/api/v1/mileage/designs/:designId/publish', pre, async (req) =>
    cards.publishDesign(param(req, 'designId'), by(req)),
  );
}
