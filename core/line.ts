import { insight, messagingApi } from '@line/bot-sdk';
import { AppError } from './errors.ts';
import type { TenantCredentials } from './tenants.ts';

/** Where LINE calls go: LINE itself, and the local sandbox when one runs. */
export interface LineEndpoints {
  line: string;
  sandbox?: string;
}

export interface LineClients {
  baseURL: string;
  messaging: messagingApi.MessagingApiClient;
  insight: insight.InsightClient;
}

/** The base URL for a tenant's calls; a sandbox tenant without a running sandbox is an error. */
export function lineBaseUrl(creds: Pick<TenantCredentials, 'tenantId' | 'lineApi'>, endpoints: LineEndpoints): string {
  if (creds.lineApi === 'line') return endpoints.line;
  if (!endpoints.sandbox) {
    throw new AppError(
      'sandbox_not_running',
      `テナント ${creds.tenantId} は LINE サンドボックスにつながっていますが、サンドボックスが起動していません (TAYORI_SANDBOX=on で起動するか、実際のチャネル情報を設定してください)`,
      503,
    );
  }
  return endpoints.sandbox;
}

/** `@line/bot-sdk` clients for one tenant: the only way Tayori talks to LINE. */
export function lineClients(creds: TenantCredentials, endpoints: LineEndpoints): LineClients {
  const baseURL = lineBaseUrl(creds, endpoints);
  return {
    baseURL,
    messaging: new messagingApi.MessagingApiClient({ channelAccessToken: creds.channelAccessToken, baseURL }),
    insight: new insight.InsightClient({ channelAccessToken: creds.channelAccessToken, baseURL }),
  };
}
