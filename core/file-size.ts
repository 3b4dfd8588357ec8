/**
 * A file's size as staff read it, the same on every page (帳票's files, 運用's backups): KB below a
 * megabyte (at least 1 KB), then MB and GB with one decimal. Plain code: the pages' browser scripts
 * take it too.
 */
export function fileSizeText(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024)).toLocaleString('ja-JP')} KB`;
}
