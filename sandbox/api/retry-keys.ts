/**
 * X-Line-Retry-Key bookkeeping: which retry keys each channel has had accepted in the last
 * 24 hours, and the request id (and, for push, the sent messages) of the accepted request.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RETENTION_MS = 24 * 3_600_000;

/** Operations that accept the header; any other operation answers 400 when it is present. */
export const RETRY_KEY_OPERATIONS: ReadonlySet<string> = new Set([
  'pushMessage',
  'multicast',
  'narrowcast',
  'broadcast',
]);

export function isValidRetryKey(key: string): boolean {
  return UUID.test(key);
}

export interface AcceptedRetryKey {
  requestId: string;
  acceptedAt: number;
  sentMessages?: unknown[];
}

export class RetryKeyStore {
  /** channelId → (lower-cased key → acceptance); Maps keep insertion order, oldest first. */
  private readonly byChannel = new Map<string, Map<string, AcceptedRetryKey>>();

  constructor(private readonly clock: () => number = () => Date.now()) {}

  find(channelId: string, key: string): AcceptedRetryKey | undefined {
    const keys = this.byChannel.get(channelId);
    const hit = keys?.get(key.toLowerCase());
    if (!hit) return undefined;
    if (this.clock() - hit.acceptedAt >= RETENTION_MS) {
      keys!.delete(key.toLowerCase());
      return undefined;
    }
    return hit;
  }

  remember(channelId: string, key: string, accepted: Omit<AcceptedRetryKey, 'acceptedAt'>): void {
    let keys = this.byChannel.get(channelId);
    if (!keys) {
      keys = new Map();
      this.byChannel.set(channelId, keys);
    }
    const now = this.clock();
    for (const [k, v] of keys) {
      if (now - v.acceptedAt < RETENTION_MS) break;
      keys.delete(k);
    }
    keys.set(key.toLowerCase(), { ...accepted, acceptedAt: now });
  }
}
