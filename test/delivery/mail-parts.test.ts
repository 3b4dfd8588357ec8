/**
 * The parts of mail-started deliveries that need no server: the body cleaned (quotes, signature,
 * blank lines), the message trimmed to LINE's limit with a link, guarded patterns (refused shapes,
 * and a catastrophic one stopped by the time limit), the places found in a mail and the sender list.
 */
import { describe, expect, it } from 'vitest';
import { cleanBody, LINE_TEXT_MAX, renderTemplate } from '../../delivery/mail/clean.ts';
import { senderAllowed } from '../../delivery/mail/intake.ts';
import { placesAudience, ruleInputSchema, ruleMatches } from '../../delivery/mail/rules.ts';
import { patternProblem, safeTest } from '../../delivery/mail/safe-pattern.ts';

describe('cleanBody', () => {
  it('drops quoted text, the signature and surplus blank lines', () => {
    const raw = [
      '富田地区に避難指示を発令しました。',
      '',
      '',
      '',
      '直ちに避難してください。   ',
      '',
      '2026年6月1日 9:00 防災課 さんは書きました:',
      '> 前回のお知らせ',
      '> 引用の続き',
      '',
      '━━━━━━━━━━━━',
      '三重県 防災対策部',
      'TEL 059-000-0000',
    ].join('\r\n');
    expect(cleanBody(raw)).toBe('富田地区に避難指示を発令しました。\n\n直ちに避難してください。');
    expect(cleanBody('本文です。\n-- \n署名\n')).toBe('本文です。');
    expect(cleanBody('本文\n\n-----Original Message-----\nFrom: x\n前のメール')).toBe('本文');
    // a ruled line at the top (not a signature) stays
    expect(cleanBody('=====\n見出し\n=====\n本文')).toContain('見出し');
  });
});

describe('renderTemplate', () => {
  const parts = { subject: '避難指示', from: 'x', date: '2026-06-01 09:00', body: '' };
  it('fills the template and keeps a short message whole', () => {
    const r = renderTemplate('【{{subject}}】\n{{body}}', { ...parts, body: '本文' }, () => 'unused');
    expect(r).toEqual({ text: '【避難指示】\n本文', trimmed: false });
  });
  it("cuts a long body to LINE's limit and links the full text", () => {
    const body = '避'.repeat(7000);
    let asked = 0;
    const r = renderTemplate('【{{subject}}】\n{{body}}', { ...parts, body }, () => {
      asked++;
      return 'https://tayori.example/notices/abc';
    });
    expect(asked).toBe(1);
    expect(r.trimmed).toBe(true);
    expect(r.text.length).toBeLessThanOrEqual(LINE_TEXT_MAX);
    expect(r.text.length).toBeGreaterThan(LINE_TEXT_MAX - 60);
    expect(r.text.startsWith('【避難指示】\n避避')).toBe(true);
    expect(r.text.endsWith('全文はこちら: https://tayori.example/notices/abc')).toBe(true);
    // characters outside the BMP count twice (as delivery's schema counts) and are never split
    const emoji = renderTemplate('{{body}}', { ...parts, body: '🌀'.repeat(3000) }, () => 'https://t.example/n/x');
    expect(emoji.text.length).toBeLessThanOrEqual(LINE_TEXT_MAX);
    expect(emoji.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});

describe('guarded patterns', () => {
  it('refuses catastrophic, back-referencing, look-around, broken and overlong patterns in Japanese', () => {
    expect(patternProblem('(a+)+$')).toContain('(a+)+');
    expect(patternProblem('(a|aa)*b')).toContain('繰り返し');
    expect(patternProblem('((ab)*c)+')).toContain('繰り返し');
    expect(patternProblem('(x)\\1')).toContain('後方参照');
    expect(patternProblem('(?=a)')).toContain('先読み');
    expect(patternProblem('[a-')).toContain('書き方');
    expect(patternProblem('a'.repeat(201))).toContain('200 文字以内');
    expect(patternProblem('^(大雨|洪水)(警報|注意報)')).toBeUndefined();
    expect(patternProblem('避難(指示|勧告)?')).toBeUndefined();
    const saved = ruleInputSchema.safeParse({
      name: 'x',
      match: { subject: { kind: 'pattern', value: '(a+)+' } },
      template: '{{body}}',
      audience: { type: 'all' },
    });
    expect(saved.success).toBe(false);
  });
  it('stops a pattern that backtracks catastrophically instead of holding the process', () => {
    expect(safeTest('^(a+)+$', `${'a'.repeat(40)}b`)).toBe('timeout');
    expect(safeTest('^(大雨|洪水)警報', '大雨警報が発表されました')).toBe(true);
    expect(safeTest('警報$', '注意報')).toBe(false);
    const rule = { match: { subject: { kind: 'pattern' as const, value: '^(a+)+$' } } };
    expect(ruleMatches(rule, { from: '', subject: `${'a'.repeat(40)}!`, body: '' })).toBe('timeout');
  });
  it('matches plain text case- and width-insensitively', () => {
    const rule = {
      match: { from: { kind: 'text' as const, value: 'BOUSAI@' }, subject: { kind: 'text' as const, value: '避難' } },
    };
    expect(ruleMatches(rule, { from: 'bousai@pref.example', subject: '【避難指示】', body: '' })).toBe(true);
    expect(ruleMatches(rule, { from: 'kisho@pref.example', subject: '【避難指示】', body: '' })).toBe(false);
  });
});

describe('places named in a mail', () => {
  const cats = [
    { id: 'a1', parentId: '@area', name: '富田地区', sort: 0, retired: false },
    { id: 'a2', parentId: '@area', name: '常磐', sort: 1, retired: false },
    { id: 'a3', parentId: '@area', name: '旧村', sort: 2, retired: true },
    { id: 'c1', parentId: '', name: '防災', sort: 0, retired: false },
    { id: 'c1_2', parentId: 'c1', name: '避難情報', sort: 0, retired: false },
  ];
  it('finds 富田 for 富田地区 and builds residence, 知りたい地域 and interests conditions', () => {
    const r = placesAudience(cats, '富田に避難指示。旧村にも。');
    expect(r.places).toEqual(['富田地区']);
    expect(r.audience).toEqual({
      type: 'segment',
      label: 'メールの地区: 富田地区',
      condition: {
        or: [
          { attr: 'residence', op: 'in', values: ['a1'] },
          { attr: 'news_areas', op: 'in', values: ['a1'] },
          { attr: 'interests', op: 'in', values: ['c1/c1_2/a1'] },
        ],
      },
    });
    expect(placesAudience(cats, '県内全域に大雨警報').audience).toBeUndefined();
    const tsu = [{ id: 'a9', parentId: '@area', name: '津', sort: 0, retired: false }];
    expect(placesAudience(tsu, '津市からのお知らせ').places).toEqual([]);
    expect(placesAudience(tsu, '津地区に避難指示').places).toEqual(['津']);
  });
  it('checks senders by address or @domain', () => {
    expect(senderAllowed(['bousai@pref.example', '@alert.example'], 'Bousai@Pref.Example')).toBe(true);
    expect(senderAllowed(['bousai@pref.example', '@alert.example'], 'x@alert.example')).toBe(true);
    expect(senderAllowed(['bousai@pref.example'], 'bousai@pref.example.evil')).toBe(false);
    expect(senderAllowed(['@alert.example'], 'x@sub.alert.example')).toBe(false);
  });
});
