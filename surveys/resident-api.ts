/**
 * The residents' survey API inside LINE (core/resident-shell.ts: only for a caller whose LIFF ID token
 * verifies; the user id is the token's):
 *
 *   GET /liff-api/<tenant>/surveys                    → { surveys: [{ surveyId, title, opensAt, closesAt, phase, state }] }
 *   GET /liff-api/<tenant>/surveys/:surveyId          → ResidentSurvey (the survey, its phase, my latest answer)
 *   PUT /liff-api/<tenant>/surveys/:surveyId/answer   { answers, partial } → { saved, partial, answeredAt }
 *        partial: saved on the way (resumed later); else sent (required questions on the path answered).
 *        Outside the window: 409 survey_not_open / survey_closed with a Japanese message.
 */
import type { ResidentShell } from '../core/resident-shell.ts';
import type { SurveyStore } from './store.ts';

const surveyIdOf = (req: { params?: unknown }) =>
  String((req.params as { surveyId?: string } | undefined)?.surveyId ?? '');

export function registerSurveysResidentApi(residents: ResidentShell, store: SurveyStore): void {
  residents.api('GET', 'surveys', async ({ tenant, userId }) => ({
    surveys: await store.openForResident(tenant.id, userId),
  }));
  residents.api('GET', 'surveys/:surveyId', async ({ tenant, userId, req }) =>
    store.forResident(tenant.id, surveyIdOf(req), userId),
  );
  residents.api('PUT', 'surveys/:surveyId/answer', async ({ tenant, userId, req, body }) =>
    store.answer(tenant.id, surveyIdOf(req), userId, body),
  );
}
