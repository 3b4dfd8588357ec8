// A record's editor on a list page: the form filled from a record (or empty for a new one), 新規 and
// 閉じる, and saving (POST a new record, PATCH a change) with the API's errors next to each field.
// Shared by the record pages (課題管理表, 議事録, the 運用 records).
import { api, clearErrors, el, errorText, say, showErrors } from './kit.ts';

export type FormControl = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** A form control by its name. */
export type ControlOf = (name: string) => FormControl;

export interface RecordEditorOptions<R extends { id: string }> {
  /**
   * What the page's ids start with: `<prefix>-form`, `-editor` (the section), `-editor-title`,
   * `-status`, `-save`, `-new` and `-cancel`.
   */
  prefix: string;
  /** The API's list: POST adds a record, `<url>/<id>` reads (GET) and changes (PATCH) one. */
  url: string;
  /** The id of the reason-for-change control: its field is shown only when a record is changed. */
  noteId?: string;
  /** The editor's heading. */
  title(r: R | null): string;
  /** The save button's words (left as the page wrote them without this). */
  saveLabel?(r: R | null): string;
  /** Fills the controls after the form was reset (r null: a new record) → the name of the control to focus. */
  fill(r: R | null, ctl: ControlOf): string;
  /** What is sent: the whole new record, or what changed in `was`. */
  body(was: R | null, ctl: ControlOf): Record<string, unknown>;
  /** Saved (the editor is closed by now). */
  saved(r: R, wasEditing: boolean): void | Promise<void>;
}

export interface RecordEditor<R> {
  /** Opens the editor on `r` as given, or empty for a new record. */
  open(r: R | null): void;
  /** Opens the editor on the record as stored now (the list may be older), or empty for a new record. */
  edit(r: R | null): Promise<void>;
}

/** The editor, or null when the page has none (an account that may not change records). */
export function recordEditor<R extends { id: string }>(o: RecordEditorOptions<R>): RecordEditor<R> | null {
  const form = document.getElementById(`${o.prefix}-form`) as HTMLFormElement | null;
  const section = document.getElementById(`${o.prefix}-editor`);
  if (!form || !section) return null;
  const status = document.getElementById(`${o.prefix}-status`)!;
  const save = document.getElementById(`${o.prefix}-save`) as HTMLButtonElement;
  const note = o.noteId ? document.getElementById(o.noteId)!.closest<HTMLElement>('.field')! : null;
  const ctl: ControlOf = (name) => form.elements.namedItem(name) as FormControl;
  let editing: R | null = null;

  const open = (r: R | null) => {
    editing = r;
    clearErrors(form);
    form.reset();
    document.getElementById(`${o.prefix}-editor-title`)!.textContent = o.title(r);
    if (o.saveLabel) save.textContent = o.saveLabel(r);
    if (note) note.hidden = !r;
    const first = o.fill(r, ctl);
    section.hidden = false;
    ctl(first).focus();
  };

  const edit = async (r: R | null) => {
    if (!r) return open(null);
    const res = await api<R>('GET', `${o.url}/${r.id}`);
    if (!res.ok) return say(status, errorText(res), true);
    open(res.body);
  };

  document.getElementById(`${o.prefix}-new`)?.addEventListener('click', () => void edit(null));
  document.getElementById(`${o.prefix}-cancel`)?.addEventListener('click', () => {
    section.hidden = true;
    editing = null;
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    say(status, '');
    clearErrors(form);
    const was = editing;
    const body = o.body(was, ctl);
    save.disabled = true;
    const res = was ? await api<R>('PATCH', `${o.url}/${was.id}`, body) : await api<R>('POST', o.url, body);
    save.disabled = false;
    if (!res.ok) return showErrors(form, res);
    section.hidden = true;
    editing = null;
    await o.saved(res.body, !!was);
  });

  return { open, edit };
}

/** The 編集 (only where the record may be changed) and 履歴 buttons of record No.`no`, for its row in a list. */
export function recordRowButtons(
  no: number,
  edit: (() => void) | null,
  history: () => void,
): Array<HTMLButtonElement | string | null> {
  const button = (label: string, text: string, onclick: () => void) =>
    el('button', { type: 'button', class: 'secondary', 'aria-label': label, text, onclick });
  return [edit ? button(`No.${no} を編集`, '編集', edit) : null, ' ', button(`No.${no} の変更履歴`, '履歴', history)];
}
