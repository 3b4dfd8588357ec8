import { createHash, randomBytes } from 'node:crypto';

/** A new delivery id: time-ordered, lowercase alphanumeric (usable inside LINE unit names). */
export function newDeliveryId(now = Date.now()): string {
  return `d${now.toString(36)}${randomBytes(5).toString('hex')}`;
}

export const deliveryIdPattern = /^d[0-9a-z]{8,24}$/;

/** LINE's customAggregationUnits name of a delivery (≤ 30 chars, [A-Za-z0-9_]). */
export function aggregationUnitOf(deliveryId: string): string {
  return `tayori_${deliveryId}`.slice(0, 30);
}

/** Name-space of Tayori's retry keys (a fixed random UUID). */
const NAMESPACE = Buffer.from('6f1c5d2e8a7b4c3d9e0f1a2b3c4d5e6f', 'hex');

/**
 * The X-Line-Retry-Key of one batch of one delivery: a name-based UUID (version 5 layout, SHA-1
 * over a fixed name-space and "deliveryId/batchNo"), so every retry of the batch, from any worker
 * and after any crash, carries the same key and LINE sends it at most once.
 */
export function batchRetryKey(deliveryId: string, batchNo: number): string {
  const h = createHash('sha1').update(NAMESPACE).update(`${deliveryId}/${batchNo}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
