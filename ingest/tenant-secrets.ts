import type { TenantStore } from '../core/tenants.ts';

export interface WebhookTenant {
  id: string;
  name: string;
  botUserId: string;
  /** Undefined when the tenant has no channel secret yet. */
  channelSecret?: string;
}

/**
 * Decrypted channel secrets for the webhook hot path, loaded once and refreshed when tenants change
 * or an unknown id is asked for (at most once a second, so unknown ids cannot hammer ClickHouse).
 */
export class TenantSecretsCache {
  #map = new Map<string, WebhookTenant>();
  #loading: Promise<void> | undefined;
  #lastLoad = 0;

  constructor(private readonly tenants: TenantStore) {
    tenants.onChange(() => void this.reload());
  }

  async reload(): Promise<void> {
    if (this.#loading) return this.#loading;
    this.#loading = (async () => {
      const next = new Map<string, WebhookTenant>();
      for (const t of await this.tenants.list()) {
        const secret = t.hasCredentials ? (await this.tenants.credentials(t.id)).channelSecret : undefined;
        next.set(t.id, { id: t.id, name: t.name, botUserId: t.botUserId, channelSecret: secret });
      }
      this.#map = next;
      this.#lastLoad = Date.now();
    })().finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  /** Synchronous when cached (the common case). */
  get(id: string): WebhookTenant | undefined | Promise<WebhookTenant | undefined> {
    const t = this.#map.get(id);
    if (t || Date.now() - this.#lastLoad < 1000) return t;
    return this.reload().then(() => this.#map.get(id));
  }
}
