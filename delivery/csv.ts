/** Delivery's CSVs use the suite's one writer (core/csv.ts). */
export { csvCell, csvLine, toCsv, CSV_BOM } from '../core/csv.ts';
