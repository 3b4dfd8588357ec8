/**
 * Surveys in the chat, by postbacks (residents of accounts that accept no typed messages can answer
 * too); replies through the reply API:
 *
 *   surveys:list                       the open surveys as quick replies
 *   surveys:start:<survey>             starts or resumes: the first unanswered question on the path
 *   surveys:a:<survey>:<question>:<o>  an option chosen (single, rating: then the next question;
 *                                      multiple: added, asked again with 「次へ」)
 *   surveys:n:<survey>:<question>      next question (after a multiple choice, or 「回答しない」)
 *
 * Each choice is saved as a partial answer at once (the LIFF form resumes from it); after the last
 * question the answer is sent. A free-text, number or date question, or 「その他」, hands over to the
 * LIFF form with a button. Handlers run from ingest's event log at least once: saving the same choice
 * again changes nothing, and a reply is sent once per event while its token is usable.
 */
import type { messagingApi } from '@line/bot-sdk';
import { isAppError } from '../core/errors.ts';
import { lineClients, type LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import type { TenantStore } from '../core/tenants.ts';
import { type EventContext, type EventHandler, replyTokenUsable } from '../ingest/index.ts';
import { type Answers, isEmpty, OTHER, optionsOf, pathOf, type Question, type Survey } from './schemas.ts';
import type { SurveyStore } from './store.ts';

export const SURVEYS_POSTBACK_PREFIX = 'surveys:';
const P = SURVEYS_POSTBACK_PREFIX;

export interface PostbackRegistry {
  onPostback(prefix: string, handler: EventHandler): void;
}

interface ChatDeps {
  store: SurveyStore;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  redis: Redis;
  logger: Logger;
  residents: () => ResidentShell | undefined;
}

type QuickItem = messagingApi.QuickReplyItem;

const pb = (label: string, data: string, displayText = label): QuickItem => ({
  type: 'action',
  action: { type: 'postback', label: label.slice(0, 20), data, displayText: displayText.slice(0, 300) },
});

const text = (t: string, items?: QuickItem[]): messagingApi.Message => ({
  type: 'text',
  text: t,
  ...(items?.length ? { quickReply: { items: items.slice(0, 13) } } : {}),
});

/** A button to the survey's LIFF form (a template message: text and one button). */
const formButton = (t: string, url: string | undefined): messagingApi.Message =>
  url
    ? {
        type: 'template',
        altText: t.slice(0, 400),
        template: {
          type: 'buttons',
          text: t.slice(0, 160),
          actions: [{ type: 'uri', label: '回答フォームを開く', uri: url }],
        },
      }
    : text(`${t}\n(回答フォームはまだ用意されていません)`);

export function registerSurveysChat(registry: PostbackRegistry, deps: ChatDeps): void {
  const once = async (ctx: EventContext) =>
    (await deps.redis.set(
      `tayori:surveys-chat:${ctx.tenantId}:${ctx.event.webhookEventId}`,
      '1',
      'EX',
      2 * 86_400,
      'NX',
    )) === 'OK';
  /** A reply once per event (a redelivered event is not answered twice). */
  const reply = async (ctx: EventContext, messages: messagingApi.Message[]) => {
    if (!replyTokenUsable(ctx.event) || !(await once(ctx))) return;
    const { messaging } = lineClients(await deps.tenants.credentials(ctx.tenantId), deps.endpoints());
    await messaging.replyMessage({ replyToken: ctx.event.replyToken!, messages });
  };

  /** The message asking `q` (quick replies for choices; the form's button otherwise). */
  const ask = (s: Survey, q: Question, answers: Answers, url: string | undefined): messagingApi.Message => {
    const n = s.questions.indexOf(q) + 1;
    const head = `【${s.title}】\nQ${n}. ${q.text}${q.required ? '（必須）' : ''}`;
    if (q.type !== 'single' && q.type !== 'multiple' && q.type !== 'rating') {
      const m = formButton(`${head}\nこの設問は回答フォームで入力してください。`, url);
      // an optional one may be left out here (the answer is then sent without it)
      return q.required ? m : { ...m, quickReply: { items: [pb('回答しない', `${P}n:${s.surveyId}:${q.id}`)] } };
    }
    const chosen = answers[q.id]?.choices ?? [];
    const items = optionsOf(q)
      .filter((o) => o.id !== OTHER && !chosen.includes(o.id))
      .map((o) => pb(q.type === 'rating' ? `${o.label}` : o.label, `${P}a:${s.surveyId}:${q.id}:${o.id}`, o.label));
    if (q.type === 'multiple' && chosen.length) items.push(pb('次へ', `${P}n:${s.surveyId}:${q.id}`));
    else if (!q.required) items.push(pb('回答しない', `${P}n:${s.surveyId}:${q.id}`));
    const labels = optionsOf(q);
    const now = chosen.length
      ? `\n(選択中: ${chosen.map((c) => labels.find((o) => o.id === c)?.label ?? c).join('、')})`
      : '';
    const hint =
      q.type === 'multiple'
        ? '\n当てはまるものをすべて選び、最後に「次へ」を押してください。'
        : q.type === 'rating'
          ? '\n1 (低い) 〜 5 (高い) で選んでください。'
          : '';
    const other = q.other ? '\n「その他」は回答フォームから入力できます。' : '';
    return text(`${head}${hint}${other}${now}`, items);
  };

  /** After `after` (or from the first unanswered question): ask the next question, or send the answer. */
  const advance = async (ctx: EventContext, s: Survey, userId: string, answers: Answers, after?: string) => {
    const tenant = await deps.tenants.require(ctx.tenantId);
    const url = deps.residents()?.liffUrl(tenant, `surveys/${s.surveyId}`);
    const path = pathOf(s.questions, answers);
    const next = after ? path[path.findIndex((q) => q.id === after) + 1] : path.find((q) => isEmpty(answers[q.id]));
    if (next) {
      await reply(ctx, [ask(s, next, answers, url)]);
      return;
    }
    try {
      await deps.store.answer(ctx.tenantId, s.surveyId, userId, { answers: {}, partial: false }, { merge: true });
      await reply(ctx, [
        formButton(`【${s.title}】\nご回答ありがとうございました。受付期間中は回答を変更できます。`, url),
      ]);
    } catch (e) {
      if (!isAppError(e) || e.status >= 500) throw e;
      await reply(ctx, [formButton(`【${s.title}】\n${e.message}\n回答フォームで確認してください。`, url)]);
    }
  };

  registry.onPostback(P, async (ctx) => {
    const userId = ctx.event.source?.userId;
    const data = ctx.event.postback?.data ?? '';
    if (ctx.event.source?.type !== 'user' || !userId) return;

    if (data === `${P}list`) {
      const open = (await deps.store.openForResident(ctx.tenantId, userId)).filter((x) => x.phase === 'open');
      if (!open.length) {
        await reply(ctx, [text('いま回答を受け付けているアンケートはありません。')]);
        return;
      }
      await reply(ctx, [
        text(
          '回答するアンケートを選んでください。',
          open.map((x) => pb(x.title, `${P}start:${x.surveyId}`)),
        ),
      ]);
      return;
    }

    const m = /^surveys:(start|a|n):([0-9a-f-]{36})(?::([A-Za-z0-9_-]{1,40}))?(?::([A-Za-z0-9_-]{1,40}))?$/.exec(data);
    if (!m) {
      deps.logger.debug({ tenantId: ctx.tenantId, data }, 'unknown surveys postback');
      return;
    }
    const [, cmd, surveyId, qid, option] = m;
    try {
      const view = await deps.store.forResident(ctx.tenantId, surveyId!, userId);
      if (view.phase !== 'open') {
        await reply(ctx, [text(view.phaseMessage ?? 'このアンケートには回答できません。')]);
        return;
      }
      const s = (await deps.store.find(ctx.tenantId, surveyId!))!;
      let answers = view.answers;
      if (cmd === 'start') {
        await advance(ctx, s, userId, answers);
        return;
      }
      const q = s.questions.find((x) => x.id === qid);
      if (!q) return;
      if (cmd === 'a' && option) {
        const prev = answers[q.id]?.choices ?? [];
        const choices = q.type === 'multiple' ? [...new Set([...prev, option])] : [option];
        const value = { choices, text: answers[q.id]?.text ?? '' };
        const save = (partial: boolean) =>
          deps.store.answer(ctx.tenantId, s.surveyId, userId, { answers: { [q.id]: value }, partial }, { merge: true });
        // a sent answer changed here stays sent while it is still complete (else it is on the way again)
        const sent = view.answeredAt !== null && !view.partial;
        if (!sent) await save(true);
        else
          await save(false).catch((e: unknown) => {
            if (isAppError(e) && e.code === 'invalid_answer') return save(true);
            throw e;
          });
        answers = { ...answers, [q.id]: value };
        if (q.type === 'multiple') {
          const tenant = await deps.tenants.require(ctx.tenantId);
          await reply(ctx, [ask(s, q, answers, deps.residents()?.liffUrl(tenant, `surveys/${s.surveyId}`))]);
          return;
        }
      }
      await advance(ctx, s, userId, answers, q.id);
    } catch (e) {
      if (!isAppError(e) || e.status >= 500) throw e;
      await reply(ctx, [text(e.message)]);
    }
  });
}
