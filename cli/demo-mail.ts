/**
 * Demo: 津市 (24201) receives disaster mails — its recipient address, one allowed sender and one rule
 * (subject containing 避難 → the residents of the districts named in the mail, as a draft to approve).
 * Once: a tenant that already has mail settings is left as it is.
 */
import { newMailSecret, type Delivery } from '../delivery/index.ts';

export const DEMO_MAIL_TENANT = '24201';
export const DEMO_MAIL_SENDER = 'bousai@pref.mie.example';

export async function seedDemoMail(
  delivery: Pick<Delivery, 'mail'>,
  opts: { listening: boolean; say?: (line: string) => void },
): Promise<{ address: string; seeded: boolean }> {
  const { store } = delivery.mail;
  const had = await store.settings(DEMO_MAIL_TENANT);
  const settings = had ?? {
    tenantId: DEMO_MAIL_TENANT,
    secret: newMailSecret(),
    allowedSenders: [DEMO_MAIL_SENDER],
    enabled: true,
  };
  if (!had) {
    await store.putSettings(settings, 'demo');
    await store.putRule(
      DEMO_MAIL_TENANT,
      {
        ruleId: 'demo-evacuation',
        name: '避難情報 (メールに書かれた地区へ)',
        enabled: true,
        urgent: false,
        sort: 10,
        match: { subject: { kind: 'text', value: '避難' } },
        template: '【{{subject}}】\n{{body}}\n\n(津市 防災メールより)',
        audience: { type: 'places' },
      },
      'demo',
    );
  }
  const address = delivery.mail.address(DEMO_MAIL_TENANT, settings.secret);
  if (opts.listening)
    opts.say?.(
      `メールからの配信 (津市): npx tayori mail send --to ${address} --from ${DEMO_MAIL_SENDER} --subject "久居地区に避難指示" --body "久居地区に避難指示を発令しました。"`,
    );
  return { address, seeded: !had };
}
