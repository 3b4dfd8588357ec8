/**
 * The channel registry: per tenant, its LINE clients (refreshed each minute, for rotated tokens),
 * the channel's pacer (one per channel, shared by its tenants) and its in-flight bound.
 */
import type { messagingApi } from '@line/bot-sdk';
import { lineBaseUrl, lineClients } from '../../core/line.ts';
import { MulticastHttp } from '../multicast-http.ts';
import { ChannelPacer, Semaphore } from '../pacer.ts';
import type { DeliveryRedis } from '../redis-state.ts';
import type { FanOutConfig } from './options.ts';

export interface Channel {
  key: string;
  channel: string;
  messaging: messagingApi.MessagingApiClient;
  http: MulticastHttp;
  pacer: ChannelPacer;
  inFlight: Semaphore;
  at: number;
}

export class Channels {
  readonly #o: FanOutConfig;
  readonly #state: DeliveryRedis;
  readonly #channels = new Map<string, Channel>();
  readonly #pacers = new Map<string, ChannelPacer>();

  constructor(o: FanOutConfig, state: DeliveryRedis) {
    this.#o = o;
    this.#state = state;
  }

  /** The tenant's channel: clients (refreshed each minute, for rotated tokens), pacer and in-flight bound. */
  async get(tenantId: string): Promise<Channel> {
    const c = this.#channels.get(tenantId);
    if (c && Date.now() - c.at < 60_000) return c;
    const creds = await this.#o.tenants.credentials(tenantId);
    const baseURL = lineBaseUrl(creds, this.#o.endpoints());
    const channel = creds.channelId || tenantId;
    const key = `${baseURL}|${creds.channelAccessToken}`;
    if (c && c.key === key && c.channel === channel) {
      c.at = Date.now();
      return c;
    }
    c?.http.close();
    let pacer = this.#pacers.get(channel);
    if (!pacer) {
      pacer = new ChannelPacer(
        this.#state,
        channel,
        () => this.rate(tenantId) * this.#o.headroom,
        (err) => this.#o.logger.warn({ err, channel }, 'could not reserve send slots'),
      );
      this.#pacers.set(channel, pacer);
    }
    const fresh: Channel = {
      key,
      channel,
      pacer,
      at: Date.now(),
      messaging: lineClients(creds, this.#o.endpoints()).messaging,
      http: new MulticastHttp(baseURL, creds.channelAccessToken, { maxSockets: this.#o.inFlight }),
      inFlight: c?.inFlight ?? new Semaphore(this.#o.inFlight),
    };
    this.#channels.set(tenantId, fresh);
    return fresh;
  }

  /** Multicast requests per second allowed to the tenant's channel. */
  rate(tenantId: string): number {
    const r = this.#o.multicastPerSecond;
    return typeof r === 'function' ? r(tenantId) : r;
  }

  /** Stops every pacer: their waiters go at once (and see the run stopping). */
  stopPacers(): void {
    for (const p of this.#pacers.values()) p.stop();
  }

  /** Closes every channel's keep-alive connections. */
  close(): void {
    for (const c of this.#channels.values()) c.http.close();
  }
}
