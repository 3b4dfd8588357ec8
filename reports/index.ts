/**
 * reports/: what the contractor owes the prefecture — minutes (議事録), the issue log (課題管理表),
 * their due dates, and the documents made from them: the monthly package and the final report,
 * stored as versioned files with their checksums. Wired by the suite:
 *
 *   const reports = createReports({ ch, tenants, redisUrl, reportsDir, logger });
 *   await reports.start();                              // scheduler (1st, 06:00 Asia/Tokyo) and worker
 *   registerReportRoutes(app, { ch, reports });         // /api/v1/minutes…, /api/v1/issues…, /api/v1/reports…
 *   …
 *   await reports.stop();
 */
export {
  closedReason,
  dueDateFor,
  formatWareki,
  formatWarekiMonth,
  isOpenDay,
  nextOpenDay,
  parseYearMonth,
  type DueDate,
} from './due-date.ts';
export { registerReportPages } from './pages.ts';
export { actorOf, registerReportRoutes } from './routes.ts';
export { registerRolloutPage } from './rollout-page.ts';
export { registerRolloutRoutes } from './rollout-routes.ts';
export { ROLLOUT_STEPS, RolloutStore, type RolloutBoard } from './rollout.ts';
export {
  contentDisposition,
  parseReportJobInput,
  registerReportFileRoutes,
  requireReportsAccess,
} from './files-routes.ts';
export { ISSUE_STATUSES, MINUTES_KINDS } from './schemas.ts';
export { ReportStore, type Issue, type Minutes } from './store.ts';
export { chartPng, REPORT_FONT } from './chart-png.ts';
export type { MonthlyContributor } from './documents/index.ts';
export {
  finalPeriodKey,
  packagesOf,
  REPORT_KIND_ORDER,
  ReportFileStore,
  type ReportPackage,
  type ReportScope,
  type StoredReportFile,
} from './files.ts';
export {
  createReports,
  documentBuilders,
  MONTHLY_PATTERN,
  MONTHLY_SCHEDULER,
  previousMonth,
  produceReport,
  REPORTS_QUEUE,
  ReportJobs,
  REPORTS_TZ,
  type ReportBuilders,
  type ReportJobInput,
  type ReportJobView,
  type Reports,
} from './jobs.ts';
