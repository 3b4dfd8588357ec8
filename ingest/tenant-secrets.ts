import type { Logger } from '../core/logger.ts';
import type { Tenant, TenantCredentials, TenantStore } from '../core/tenants.ts';

export interface WebhookTenant {
  id: string;
  name: string;
  botUserId: string;
  /** Undefined when the tenant has no channel secret yet (or it could not be read). */
  channelSecret?: string;
  /** Set when the stored secret could not be decrypted (wrong key, damaged row). */
  secretUnreadable?: boolean;
  /** The tenant as the store lists it, and its credentials (for the handlers' replies). */
  tenant: Tenant;
  credentials?: TenantCredentials;
}

/**
 * Tenants and their decrypted credentials for the webhook hot path and the handlers' replies, loaded once and refreshed when tenants change
 * or an unknown id is asked for (at most once a second, so unknown ids cannot hammer ClickHouse).
 * A change always leads to a load that starts after it: a change during a load queues one more.
 * One tenant's unreadable secret is logged and marks that tenant only.
 */
export class TenantSecretsCache {
  #map = new Map<string, WebhookTenant>();
  #loading: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #lastLoad = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tenants: TenantStore,
    private readonly logger: Logger,
  ) {
    tenants.onChange(() => {
      this.reload().catch((err: unknown) =>
        this.logger.error({ err }, 'channel secrets not reloaded after a tenant change (retried on the next request)'),
      );
    });
  }

  /** A load that starts now, or — while one runs — right after it (it may have read old rows). */
  reload(): Promise<void> {
    if (!this.#loading) return this.#start();
    this.#queued ??= this.#loading
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#start();
      });
    return this.#queued;
  }

  #start(): Promise<void> {
    const run = this.#load().finally(() => {
      if (this.#loading === run) this.#loading = undefined;
    });
    this.#loading = run;
    return run;
  }

  async #load(): Promise<void> {
    const next = new Map<string, WebhookTenant>();
    for (const t of await this.tenants.list()) {
      const entry: WebhookTenant = { id: t.id, name: t.name, botUserId: t.botUserId, tenant: t };
      if (t.hasCredentials) {
        try {
          entry.credentials = await this.tenants.credentials(t.id);
          entry.channelSecret = entry.credentials.channelSecret;
        } catch (err) {
          entry.secretUnreadable = true;
          this.logger.error({ err: (err as Error).message, tenantId: t.id }, 'channel secret could not be read');
        }
      }
      next.set(t.id, entry);
    }
    this.#map = next;
    this.#lastLoad = Date.now();
  }

  /**
   * Reloads every `ms` as well: changes made by another node (a shared ClickHouse server) arrive
   * without a restart. Stopped by stopRefresh().
   */
  refreshEvery(ms: number): void {
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      this.reload().catch((err: unknown) => this.logger.warn({ err }, 'channel secrets not refreshed'));
    }, ms);
    this.#timer.unref();
  }

  stopRefresh(): void {
    clearInterval(this.#timer);
  }

  /** Synchronous when cached (the common case). */
  get(id: string): WebhookTenant | undefined | Promise<WebhookTenant | undefined> {
    const t = this.#map.get(id);
    if (t || Date.now() - this.#lastLoad < 1000) return t;
    // an unknown id needs no load after a change: the running one (or a new one) will do
    return (this.#loading ?? this.#start()).then(() => this.#map.get(id));
  }
}
