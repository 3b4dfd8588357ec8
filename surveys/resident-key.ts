/**
 * Who an answer belongs to. Identified surveys: the LINE user id. Anonymous surveys: a per-survey
 * pseudonym, HMAC-SHA256 of the survey and the user id with a per-tenant key (derived from the suite's
 * key), so one answer per resident holds (and is resumed, changed) while no row says who answered,
 * and the same resident's keys in two surveys cannot be linked.
 */
import { createHmac } from 'node:crypto';

export type SurveyKeys = (tenantId: string) => Uint8Array;

export function residentKey(
  keys: SurveyKeys,
  tenantId: string,
  survey: { surveyId: string; anonymous: boolean },
  userId: string,
): string {
  if (!survey.anonymous) return userId;
  const mac = createHmac('sha256', keys(tenantId)).update(`${survey.surveyId}\n${userId}`).digest('base64url');
  return `anon:${mac}`;
}
