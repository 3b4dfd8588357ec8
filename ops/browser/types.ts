/**
 * What the ops record pages (/ops/incidents, /ops/supports, /ops/issues, /ops/stops) hand their
 * script in the page data: the kind's fields as the form shows them, the list's columns and the
 * words of the history. Shared by ops/record-pages.ts (server) and browser/records.ts.
 */

/** How a field is edited: datetime = Tokyo time in a datetime-local input; tenant = a tenant or none. */
export type FieldType = 'text' | 'textarea' | 'datetime' | 'date' | 'select' | 'tenant';

export interface FormField {
  name: string;
  label: string;
  type: FieldType;
  required?: boolean;
  /** Empty means null (not ''). */
  nullable?: boolean;
  options?: readonly string[];
  hint?: string;
  /** What a new record starts with ('now' / 'today': the Tokyo time or date). */
  initial?: string;
  maxLength?: number;
  wide?: boolean;
}

export interface OpsRecordsWords {
  /** The API's path segment: /api/v1/ops/<plural>. */
  plural: string;
  /** What one record is called, e.g. 対応履歴. */
  noun: string;
  fields: FormField[];
  /** Field names shown in the list (after No.). */
  columns: string[];
  actionLabels: Record<string, string>;
  /** A Word report per record (障害報告書). */
  docx: boolean;
}

export interface OpsRecord {
  id: string;
  no: number;
  version: number;
  [field: string]: unknown;
}
