/** Types of chart-text.js (plain JavaScript, shared by the server and the browser's charts bundle). */
export function escapeChartText(value: unknown): string;
export function withHtmlSafeText<T extends Record<string, unknown>>(options: T): T;
export function withSvgSafeText<T extends Record<string, unknown>>(options: T): T;
