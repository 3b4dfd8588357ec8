/**
 * The residents' survey pages inside LINE (LIFF), in the resident frame:
 *
 *   surveys              the surveys open now (and announced ones), each with 未回答・回答途中・回答済み
 *   surveys/:surveyId    the form: branching applied as the resident answers, each change saved as a
 *                        partial answer (resumed on the next visit), sent once complete, changeable
 *                        until the window closes; 受付前 / 受付終了 in Japanese
 *
 * The pages are frames; browser/answer.ts and browser/list.ts read and save through the resident API.
 */
import { fileURLToPath } from 'node:url';
import { html } from '../core/html.ts';
import type { ResidentShell } from '../core/resident-shell.ts';

const file = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export function registerSurveysResidentPages(residents: ResidentShell): void {
  residents.assets({
    'surveys-resident.css': file('./browser/resident.css'),
    'surveys-list.js': file('./browser/list.ts'),
    'surveys-answer.js': file('./browser/answer.ts'),
  });
  const styles = ['surveys-resident.css'];

  residents.page(
    'surveys',
    async ({ tenant }) => ({
      title: 'アンケート',
      styles,
      scripts: ['surveys-list.js'],
      body: html`<section class="r-card" aria-labelledby="s-list-h" id="s-list-box" aria-busy="true" data-tenant="${tenant.id}">
<h2 id="s-list-h">回答を受け付けているアンケート</h2>
<ul id="s-list" class="r-links s-list" data-testid="survey-list"></ul>
<p id="s-list-empty" hidden>いま回答を受け付けているアンケートはありません。</p>
</section>`,
    }),
    { menu: 'アンケート' },
  );

  residents.page<Record<string, string | undefined>>('surveys/:surveyId', async ({ tenant }) => ({
    title: 'アンケート',
    styles,
    scripts: ['surveys-answer.js'],
    body: html`<div id="s-root" aria-busy="true">
<section class="r-card" aria-labelledby="s-title">
<h2 id="s-title" data-testid="survey-title">読み込んでいます…</h2>
<p id="s-intro" class="s-intro"></p>
<p id="s-window" class="r-muted"></p>
<p id="s-state" class="s-state" data-testid="survey-state" role="status"></p>
</section>
<form id="s-form" class="s-form" novalidate hidden>
<div id="s-questions"></div>
<p id="s-saved" class="r-muted" data-testid="saved" aria-live="polite"></p>
<button type="submit" id="s-submit" data-testid="submit">回答を送信する</button>
</form>
<p><a href="/liff/${tenant.id}/surveys">アンケートの一覧へ</a></p>
</div>`,
  }));
}
