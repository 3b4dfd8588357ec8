/**
 * The shapes of delivery's API answers as its pages read them (delivery/routes.ts and store.ts are
 * the source; browser code cannot import them, they pull in the server).
 */

/** An area (`parentId` '@area'), a large category ('') or a middle one (its large's id). */
export interface Category {
  id: string;
  parentId: string;
  name: string;
  sort: number;
  retired: boolean;
}

export interface ItemOption {
  id: string;
  label: string;
  retired?: boolean;
}

/** An extra registration item the tenant asks residents. */
export interface AttributeItem {
  id: string;
  label: string;
  multiple: boolean;
  sort: number;
  retired: boolean;
  options: ItemOption[];
}

export interface TestDevice {
  userId: string;
  label: string;
}

/** The rich menu last applied (epoch milliseconds). */
export interface RichMenu {
  appliedAt: number;
  newsUrl: string;
  contactUrl: string;
}

export type DeliveryStatus = 'draft' | 'scheduled' | 'queued' | 'sending' | 'done' | 'failed' | 'cancelled';

/** A row of GET /deliveries. Times are epoch milliseconds. */
export interface ListedDelivery {
  id: string;
  title: string;
  audienceLabel: string;
  /** all | segment | test | users */
  audienceType: string;
  status: DeliveryStatus;
  at: number;
  scheduledAt: number | null;
  targets: number;
  /** Named residents (a 'users' audience) who were not friends at send time. */
  skipped: number;
  accepted: number;
  failed: number;
  delivered: number | null;
  uniqueImpressions: number | null;
  clicks: number | null;
}

/** GET /deliveries/:id/clicks: clicks per tracked link and attribute group. */
export interface DeliveryClicks {
  clickBucket: string;
  links: string[];
  clicks: Array<{ linkNo: number; bucket: string; url: string; clicks: number }>;
}

/** A segment condition as delivery's audience schema takes it. */
export type Condition =
  | { attr: string; op: string; values?: string[]; min?: number; max?: number }
  | { not: Condition }
  | { and: Condition[] }
  | { or: Condition[] };

export type Audience =
  | { type: 'all' | 'test' }
  | { type: 'segment'; condition: Condition; label?: string }
  | { type: 'users'; userIds: string[]; label?: string };

/** A message as delivery stores it (text with {{link:N}} placeholders for tracked links). */
export type StoredMessage =
  | { type: 'text'; text: string }
  | { type: 'sticker'; packageId: string; stickerId: string }
  | { type: 'image'; originalContentUrl: string; previewImageUrl: string }
  | { type: 'video'; originalContentUrl: string; previewImageUrl: string; trackingId?: string }
  | { type: 'flex'; altText: string; contents: unknown };

/** GET /deliveries/:id/preview: the talk screen's HTML and how the delivery went out (the list's 内容). */
export interface DeliveryPreview {
  html: string;
  sendMethod: 'broadcast' | 'multicast';
  notificationDisabled: boolean;
  /** URLs in the text whose clicks are counted. */
  trackedLinks: number;
}

/** GET /deliveries/:id, the parts the composer reopens. */
export interface DeliveryRecord {
  id: string;
  title: string;
  status: DeliveryStatus;
  messages: StoredMessage[];
  links: string[];
  clickBucket: string;
  audience: Audience;
  sendMethod: 'broadcast' | 'multicast';
  notificationDisabled: boolean;
}
