/**
 * A survey's questions and the path a resident takes through them (branching), and the check of an
 * answer against that path. Pure: the server and the residents' form (browser/answer.ts) share it.
 */

export const QUESTION_TYPES = ['single', 'multiple', 'text', 'number', 'date', 'rating'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const QUESTION_TYPE_LABELS: Record<QuestionType, string> = {
  single: '単一選択',
  multiple: '複数選択',
  text: '自由記述',
  number: '数値',
  date: '日付',
  rating: '5段階評価',
};

/** The option id of 「その他 (自由記述)」 on a choice question. */
export const OTHER = '_other';
/** A branch target: the end of the survey. */
export const END = '_end';

export interface Option {
  id: string;
  label: string;
}

export interface Branch {
  /** The option (or rating '1'…'5') that leads elsewhere. */
  option: string;
  /** A later question's id, or END. */
  goTo: string;
}

export interface Question {
  id: string;
  type: QuestionType;
  text: string;
  help: string;
  required: boolean;
  options: Option[];
  /** Choice questions: 「その他 (自由記述)」 offered. */
  other: boolean;
  branches: Branch[];
}

/** One question's answer: options chosen (choice, rating as '1'…'5') and/or a text (free text, number, date, その他). */
export interface AnswerValue {
  choices: string[];
  text: string;
}

export type Answers = Record<string, AnswerValue>;

/** The options a question offers (rating: 1…5), その他 last. */
export function optionsOf(q: Question): Option[] {
  if (q.type === 'rating') return ['1', '2', '3', '4', '5'].map((id) => ({ id, label: id }));
  if (q.type !== 'single' && q.type !== 'multiple') return [];
  return q.other ? [...q.options, { id: OTHER, label: 'その他' }] : q.options;
}

export function isEmpty(v: AnswerValue | undefined): boolean {
  return !v || (v.choices.length === 0 && v.text.trim() === '');
}

/**
 * The questions a resident is shown, in order, given the answers so far: after a question whose
 * answer matches a branch the path goes on at the branch's target (or ends); unanswered questions
 * take no branch.
 */
export function pathOf(questions: readonly Question[], answers: Answers): Question[] {
  const out: Question[] = [];
  let i = 0;
  while (i < questions.length) {
    const q = questions[i]!;
    out.push(q);
    const a = answers[q.id];
    const branch = a ? q.branches.find((b) => a.choices.includes(b.option)) : undefined;
    if (!branch) {
      i++;
      continue;
    }
    if (branch.goTo === END) break;
    const j = questions.findIndex((x) => x.id === branch.goTo);
    i = j > i ? j : i + 1;
  }
  return out;
}

/** Problems with the branching (targets must be later questions or END; options must exist), in Japanese. */
export function branchProblems(questions: readonly Question[]): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  questions.forEach((q, i) => {
    q.branches.forEach((b, k) => {
      const path = `questions.${i}.branches.${k}`;
      if (!optionsOf(q).some((o) => o.id === b.option))
        problems.push({ path, message: `設問 ${i + 1} の分岐の選択肢 (${b.option}) がありません` });
      if (b.goTo === END) return;
      const j = questions.findIndex((x) => x.id === b.goTo);
      if (j < 0) problems.push({ path, message: `設問 ${i + 1} の分岐先 (${b.goTo}) がありません` });
      else if (j <= i) problems.push({ path, message: `設問 ${i + 1} の分岐先は、この設問より後の設問にしてください` });
    });
    if (q.branches.length && q.type !== 'single' && q.type !== 'rating')
      problems.push({
        path: `questions.${i}.branches`,
        message: `設問 ${i + 1}: 分岐は単一選択と5段階評価の設問だけに設定できます`,
      });
  });
  return problems;
}

/** A check of one answer to one question; the Japanese problem, or undefined. */
export function answerProblem(q: Question, v: AnswerValue | undefined): string | undefined {
  if (isEmpty(v)) return q.required ? 'この設問は回答が必要です' : undefined;
  const a = v!;
  const ids = new Set(optionsOf(q).map((o) => o.id));
  if (a.choices.some((c) => !ids.has(c))) return '選択肢にない回答です';
  if ((q.type === 'single' || q.type === 'rating') && a.choices.length > 1) return '選べるのは 1 つだけです';
  if ((q.type === 'single' || q.type === 'multiple' || q.type === 'rating') && a.choices.length === 0)
    return q.required ? '選択肢から選んでください' : undefined;
  if (a.choices.includes(OTHER) && a.text.trim() === '') return '「その他」の内容を入力してください';
  if (q.type === 'number' && !/^-?\d+(\.\d+)?$/.test(a.text.trim())) return '数字で入力してください';
  if (q.type === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(a.text.trim())) return '日付を選んでください';
  if (a.text.length > 2000) return '2000 文字以内で入力してください';
  return undefined;
}

/**
 * The answers kept for a sending: only the questions on the path, in order; `complete` requires every
 * required question on the path. Problems keyed by question id.
 */
export function checkAnswers(
  questions: readonly Question[],
  answers: Answers,
  complete: boolean,
): { kept: Array<[Question, AnswerValue]>; problems: Record<string, string> } {
  const kept: Array<[Question, AnswerValue]> = [];
  const problems: Record<string, string> = {};
  for (const q of pathOf(questions, answers)) {
    const v = answers[q.id];
    const p = answerProblem(q, v);
    if (p && (complete || !isEmpty(v))) problems[q.id] = p;
    if (!isEmpty(v) && !p) {
      const a = v!;
      const keepText = q.type === 'text' || q.type === 'number' || q.type === 'date' || a.choices.includes(OTHER);
      kept.push([q, { choices: [...a.choices], text: keepText ? a.text.trim() : '' }]);
    }
  }
  return { kept, problems };
}
