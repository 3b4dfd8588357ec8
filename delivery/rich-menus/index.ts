/**
 * delivery/rich-menus/: the rich menu editor — menus (tabs) designed by staff with チャネルの管理,
 * versioned draft → published on LINE through a rate-limited queue, rolled back in one step,
 * per-audience menus kept current as residents change, scheduled switches. delivery/index.ts
 * composes it; other folders reach it through delivery/index.ts only.
 */
export { ACTION_LABELS, checkImage, LAYOUTS, LIFF_PATHS, readImageHeader, type Design } from './design.ts';
export { LineQueue, type LineQueueOptions } from './line-queue.ts';
export { registerRichMenuPages } from './pages.ts';
export { registerRichMenuRoutes } from './routes.ts';
export { BULK_LIMIT, type EditorDeps, type Menu, type MenuVersion, RichMenuEditor, type Schedule } from './service.ts';
