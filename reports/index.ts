/**
 * reports/: what the contractor owes the prefecture — minutes (議事録), the issue log (課題管理表)
 * and their due dates. Wired by the suite:
 *
 *   registerReportRoutes(app, { ch });   // /api/v1/minutes…, /api/v1/issues…
 */
export { closedReason, dueDateFor, formatWareki, formatWarekiMonth, isOpenDay, nextOpenDay, parseYearMonth, type DueDate } from './due-date.ts';
export { actorOf, registerReportRoutes } from './routes.ts';
export { ISSUE_STATUSES, MINUTES_KINDS } from './schemas.ts';
export { ReportStore, type Issue, type Minutes } from './store.ts';
export { chartPng, REPORT_FONT } from './chart-png.ts';
