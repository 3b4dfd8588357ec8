/**
 * Matching a typed question against the scenario's questions and keywords, Japanese-aware: NFKC
 * (full/half width), katakana as hiragana, lower case, without spaces and punctuation; then keywords
 * found in the text and the character-bigram overlap with each question.
 */
import type { FaqNode } from './schemas.ts';

/** The form both sides are compared in. */
export function normalise(s: string): string {
  return s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60))
    .replace(/[\s\p{P}\p{S}]/gu, '');
}

const bigrams = (s: string): Set<string> => {
  const out = new Set<string>();
  if (s.length === 1) out.add(s);
  for (let i = 0; i + 1 < s.length; i++) out.add(s.slice(i, i + 2));
  return out;
};

/** Common question endings that say nothing of the subject. */
const FILLERS = [
  'ですか',
  'ますか',
  'ください',
  'おしえて',
  'について',
  'したい',
  'たい',
  'どうすれば',
  'どこ',
  'いつ',
];

export interface Candidate {
  node: FaqNode;
  score: number;
}

/** Questions scored against the text, best first (score > 0 only). */
export function candidates(nodes: FaqNode[], text: string): Candidate[] {
  let q = normalise(text);
  for (const f of FILLERS) q = q.replaceAll(f, '');
  if (!q) return [];
  const qb = bigrams(q);
  const out: Candidate[] = [];
  for (const node of nodes) {
    if (node.kind !== 'question') continue;
    let score = 0;
    for (const k of node.keywords) {
      const nk = normalise(k);
      if (nk && q.includes(nk)) score += 1 + Math.min(nk.length, 6) / 6;
    }
    const t = normalise(node.title);
    if (t && (t.includes(q) || q.includes(t))) score += 1.5;
    const tb = bigrams(t);
    let common = 0;
    for (const b of qb) if (tb.has(b)) common++;
    if (qb.size && tb.size) score += (2 * common) / (qb.size + tb.size);
    if (score >= 0.35) out.push({ node, score });
  }
  return out.sort((a, b) => b.score - a.score || a.node.id.localeCompare(b.node.id));
}

/**
 * What a typed question gets: one node when the best is clear (a keyword or strong overlap and well
 * ahead of the next), else up to 3 candidates, else nothing.
 */
export function bestMatch(nodes: FaqNode[], text: string): { best?: FaqNode; top: FaqNode[] } {
  const c = candidates(nodes, text);
  if (!c.length) return { top: [] };
  const [first, second] = c;
  if (first!.score >= 1 && (!second || first!.score >= second.score * 1.5))
    return { best: first!.node, top: [first!.node] };
  return { top: c.slice(0, 3).map((x) => x.node) };
}
