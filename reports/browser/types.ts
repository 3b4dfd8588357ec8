/**
 * What reports' pages get from the server: the words each page is handed in its page data
 * (reports/pages.ts builds them, checked against these types), and the shapes of reports' API
 * answers the scripts read (reports/store.ts, files.ts, jobs.ts on the server side). Plain types and
 * constants only: the server imports this file too.
 */

// ---- the words in the page data ----------------------------------------------------------------

/** The fields of a minutes record a person writes, in the order the form asks them. */
export const MINUTES_FIELDS = [
  'heldAt',
  'endedAt',
  'kind',
  'title',
  'place',
  'tenantIds',
  'attendees',
  'agenda',
  'discussion',
  'decisions',
  'actionItems',
] as const;
export type MinutesField = (typeof MINUTES_FIELDS)[number];

/** The fields of an issue, in the order of the log's columns (and the editor's controls' names). */
export const ISSUE_FIELDS = [
  'tenantId',
  'raisedOn',
  'category',
  'description',
  'response',
  'owner',
  'status',
  'dueOn',
  'resolvedOn',
] as const;
export type IssueField = (typeof ISSUE_FIELDS)[number];

export type MinutesStatus = 'draft' | 'approved';
export type JobState = 'waiting' | 'active' | 'completed' | 'failed';

/** 議事録: the status badges, what a history entry did, and each field's name (for 「変更した項目」). */
export interface MinutesWords {
  statusLabels: Record<MinutesStatus, string>;
  actionLabels: Record<string, string>;
  fieldLabels: Record<MinutesField, string>;
}

/** 課題管理表: the log's column names, what a history entry did, and the status that closes an issue. */
export interface IssuesWords {
  fieldLabels: Record<IssueField, string>;
  actionLabels: Record<string, string>;
  closedStatus: string;
}

/** 帳票: the kinds of file in package order with their names, and a job's states. */
export interface ReportsWords {
  kinds: Array<{ id: string; label: string }>;
  jobStates: Record<JobState, string>;
}

// ---- reports' API ------------------------------------------------------------------------------

export interface Attendee {
  organization: string;
  name: string;
}

export interface ActionItem {
  task: string;
  owner: string;
  due: string | null;
}

export interface Minutes {
  id: string;
  heldAt: string;
  endedAt: string | null;
  kind: string;
  title: string;
  place: string;
  tenantIds: string[];
  attendees: Attendee[];
  agenda: string[];
  discussion: string;
  decisions: string[];
  actionItems: ActionItem[];
  status: MinutesStatus;
  statusLabel: string;
  approvedBy: string;
  approvedAt: string | null;
  reportMonth: string;
  reportDue: string;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  version: number;
}

export interface Issue {
  id: string;
  no: number;
  tenantId: string;
  raisedOn: string;
  category: string;
  description: string;
  response: string;
  owner: string;
  status: string;
  dueOn: string | null;
  resolvedOn: string | null;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  version: number;
}

export interface FieldChange {
  field: string;
  label: string;
  from: unknown;
  to: unknown;
}

export interface HistoryEntry<T> {
  version: number;
  action: string;
  changedBy: string;
  changedAt: string;
  changes?: FieldChange[];
  note?: string;
  record: T;
}

export interface ReportFileView {
  id: string;
  scope: 'monthly' | 'final';
  period: string;
  periodLabel?: string;
  kind: string;
  title?: string;
  fileName: string;
  version: number;
  size: number;
  sha256: string;
  dueDate: string | null;
  dueDateLabel: string | null;
  createdAt: string;
  createdBy: string;
}

export interface JobProgress {
  step: string;
  done: number;
  total: number;
}

export interface ReportJob {
  id: string;
  type: 'monthly' | 'final';
  period: string;
  periodLabel?: string;
  state: JobState;
  progress?: Partial<JobProgress>;
  error?: string;
  fileIds?: string[];
  createdBy?: string;
  createdAt?: string;
}
