/**
 * A tenant's LIFF app, set up through LINE (or the sandbox, for tenants wired to it) with
 * @line/bot-sdk: a stateless channel access token for the tenant's LINE Login channel
 * (client_credentials, POST /oauth2/v3/token), then the LIFF server API (POST /liff/v1/apps) with
 * the view {type: 'full', url: '<public URL>/liff/<tenantId>/'}. The Login channel's secret is used
 * for the token only and never stored; the tenant keeps the channel id and the LIFF id.
 */
import { channelAccessToken, HTTPFetchError, liff } from '@line/bot-sdk';
import { AppError } from '../errors.ts';
import { lineBaseUrl, type LineEndpoints } from '../line.ts';
import type { Tenant, TenantStore } from '../tenants.ts';
import { z } from '../zod.ts';

export const liffSetupSchema = z.object({
  loginChannelId: z
    .string()
    .trim()
    .regex(/^\d{1,20}$/, 'LINE ログインチャネルの ID は数字で指定してください'),
  loginChannelSecret: z
    .string()
    .trim()
    .min(1, 'LINE ログインチャネルのチャネルシークレットを入力してください')
    .max(200, 'チャネルシークレットが長すぎます'),
});
export type LiffSetupInput = z.input<typeof liffSetupSchema>;

/** The endpoint URL of a tenant's LIFF app: its residents' home page on this suite. */
export function liffEndpointUrl(publicUrl: string, tenantId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/liff/${tenantId}/`;
}

export interface LiffSetupResult {
  tenant: Tenant;
  liffId: string;
  /** False when the channel already had a LIFF app for this endpoint (it is reused). */
  created: boolean;
}

/**
 * Creates (or, with `reuse`, finds) the tenant's LIFF app and stores its id and the Login channel
 * on the tenant. Failures leave the tenant as it was.
 */
export async function setUpLiffApp(opts: {
  tenants: TenantStore;
  tenantId: string;
  input: LiffSetupInput;
  endpoints: LineEndpoints;
  publicUrl: string;
  /** Reuse an app of the channel whose endpoint is already this tenant's (the demo on restart). */
  reuse?: boolean;
}): Promise<LiffSetupResult> {
  const { loginChannelId, loginChannelSecret } = liffSetupSchema.parse(opts.input);
  const tenant = await opts.tenants.require(opts.tenantId);
  const baseURL = lineBaseUrl({ tenantId: tenant.id, lineApi: tenant.lineApi }, opts.endpoints);
  const url = liffEndpointUrl(opts.publicUrl, tenant.id);

  let token: string;
  try {
    const tokens = new channelAccessToken.ChannelAccessTokenClient({ baseURL });
    token = (await tokens.issueStatelessChannelTokenByClientSecret(loginChannelId, loginChannelSecret)).access_token;
  } catch (e) {
    if (e instanceof HTTPFetchError && e.status === 400) {
      throw new AppError(
        'line_login_channel_refused',
        'LINE ログインチャネルの ID またはチャネルシークレットが正しくありません (LINE がアクセストークンを発行しませんでした)',
        400,
      );
    }
    throw lineFailure(e);
  }

  const client = new liff.LiffClient({ channelAccessToken: token, baseURL });
  let liffId: string | undefined;
  if (opts.reuse) {
    try {
      liffId = (await client.getAllLIFFApps()).apps?.find((a) => a.view?.url === url)?.liffId;
    } catch (e) {
      if (!(e instanceof HTTPFetchError && e.status === 404)) throw lineFailure(e); // 404: no app yet
    }
  }
  const created = !liffId;
  if (!liffId) {
    try {
      liffId = (
        await client.addLIFFApp({
          view: { type: 'full', url },
          description: `${tenant.name} 住民向けページ`,
          scope: ['openid', 'profile'],
          botPrompt: 'normal',
        })
      ).liffId;
    } catch (e) {
      if (e instanceof HTTPFetchError && e.status === 400) {
        throw new AppError(
          'liff_app_refused',
          `LINE が LIFF アプリの作成を受け付けませんでした (エンドポイント ${url} は https である必要があります): ${e.body}`,
          400,
        );
      }
      throw lineFailure(e);
    }
  }
  const updated = await opts.tenants.setLiff(tenant.id, { liffChannelId: loginChannelId, liffId });
  return { tenant: updated, liffId, created };
}

function lineFailure(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const status = e instanceof HTTPFetchError ? ` (HTTP ${e.status})` : '';
  const err = new AppError('line_unavailable', `LINE に接続できないか、エラーが返りました${status}`, 502);
  err.cause = e;
  return err;
}
