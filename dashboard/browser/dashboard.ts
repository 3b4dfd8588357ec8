/**
 * The shell's script on every page that loads scripts: sortable tables, the month and municipality
 * selectors, selects that submit their form, and the current page marked in the navigation.
 * (Charts: charts.ts; the live delivery list is delivery's own script.)
 */
import { markCurrentNav } from '../../core/browser/kit.ts';

/** A cell's number (its data-v), or null for an unknown value ("—"). */
const num = (td: HTMLTableCellElement | undefined): number | null => {
  const v = td?.getAttribute('data-v');
  return v === null || v === undefined || v === '' ? null : Number(v);
};

/** Sortable tables: click a header (or Enter/Space on it); unknown values ("—") always sort last. */
const sortable = (table: HTMLTableElement): void => {
  const heads = table.querySelectorAll<HTMLTableCellElement>('thead th');
  heads.forEach((th, col) => {
    const kind = th.getAttribute('data-sort');
    if (!kind) return;
    th.tabIndex = 0;
    const sort = () => {
      const dir = th.getAttribute('aria-sort') === 'descending' ? 'ascending' : 'descending';
      for (const h of heads) h.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', dir);
      const body = table.tBodies[0];
      if (!body) return;
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = a.cells[col];
        const y = b.cells[col];
        if (kind === 'text') {
          const text = (c: HTMLTableCellElement | undefined) => c?.getAttribute('data-v') || c?.textContent || '';
          const s = text(x).localeCompare(text(y), 'ja');
          return dir === 'ascending' ? s : -s;
        }
        const p = num(x);
        const q = num(y);
        if (p === null && q === null) return 0;
        if (p === null) return 1;
        if (q === null) return -1;
        return dir === 'ascending' ? p - q : q - p;
      });
      for (const r of rows) body.appendChild(r);
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        sort();
      }
    });
  });
};

for (const table of document.querySelectorAll('table')) sortable(table);

// a selector that submits its form when changed (no inline handlers: the CSP forbids them)
for (const select of document.querySelectorAll<HTMLSelectElement>('select[data-submit-on-change]'))
  select.addEventListener('change', () => select.form?.submit());

const nav = document.getElementById('tenant-nav') as HTMLSelectElement | null;
nav?.addEventListener('change', () => {
  if (nav.value) location.href = `/municipalities/${nav.value}`;
});

markCurrentNav();
