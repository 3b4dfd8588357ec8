/** Types of chart-text.js (plain JavaScript the browser loads as it is). */
export function escapeChartText(value: unknown): string;
export function withHtmlSafeText<T extends Record<string, unknown>>(options: T): T;
export function withSvgSafeText<T extends Record<string, unknown>>(options: T): T;
