/**
 * Logical erasure at the end of the service (Saitama's specification 2.3 (4), ISMAP's 論理的消去):
 * the tenant's data key is destroyed, so every personal field sealed with it can never be decrypted
 * again; the sealed records are then removed as well. The pushes to chosen holders (delivery's
 * records of who was a holder, by LINE user id) lose their recipients first, so an erasure that
 * cannot reach ClickHouse stops before the key goes. A データ消去証明書 (PDF, 和暦) says what was
 * erased, how, when and the destroyed key's fingerprint; the erasure is audited (counts, the ids of
 * the backups reached and the fingerprint only).
 */
import PDFDocument from 'pdfkit';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import type { DataKeys, DestroyedKey } from '../core/data-keys.ts';
import { AppError } from '../core/errors.ts';
import { formatWareki, tokyoDateTime } from '../core/time.ts';
import type { CardStore } from './households.ts';

export const CERTIFICATE_FONT =
  process.env.TAYORI_REPORT_FONT ?? '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf';

export interface ErasureResult {
  tenantId: string;
  tenantName: string;
  records: number;
  /** Pushes to holders whose recipients were removed from delivery's records (null: no delivery here). */
  pushes: number | null;
  /** Backups on this server the tenant's data key was taken out of (null: not reached). */
  backups: number | null;
  key: DestroyedKey;
  erasedAt: string;
  /** The certificate (PDF). */
  certificate: Buffer;
}

export async function erasePersonalData(d: {
  tenantId: string;
  tenantName: string;
  /** The tenant id typed again by the person erasing (must match). */
  confirm: string;
  keys: DataKeys;
  store: CardStore;
  audit: AuditLog;
  by: AuditContext;
  /** Removes the recipients (LINE user ids) of the tenant's pushes to holders; how many pushes. */
  forgetPushRecipients?: () => Promise<number>;
  /** Takes the tenant's wrapped data key out of the backups on this server; the ids of those that held it. */
  forgetKeyInBackups?: () => Promise<string[]>;
}): Promise<ErasureResult> {
  if (d.confirm !== d.tenantId) {
    throw new AppError(
      'confirmation_mismatch',
      `確認のため、テナント ID「${d.tenantId}」をそのまま入力してください`,
      400,
    );
  }
  const prefix = `${d.tenantId}/`;
  const keys: string[] = [];
  for (const k of d.store.households.getKeys({ start: prefix, end: `${prefix}\uffff` })) keys.push(k as string);
  const kekFingerprint = d.keys.provider.fingerprint();
  // recorded first: an erasure nobody can account for is not done
  await d.audit.by(d.by, {
    action: 'personal_data_erase_started',
    tenantId: d.tenantId,
    detail: { records: keys.length, keyFingerprint: d.keys.fingerprint(d.tenantId) ?? null },
  });
  // what could bring the data back or name its holders goes first: a failure here stops the erasure
  // before the key is destroyed
  const pushes = d.forgetPushRecipients ? await d.forgetPushRecipients() : null;
  const backupIds = d.forgetKeyInBackups ? await d.forgetKeyInBackups() : null;
  const backups = backupIds ? backupIds.length : null;
  const key = d.keys.destroy(d.tenantId);
  await d.store.households.transaction(() => {
    for (const k of keys) d.store.households.remove(k);
  });
  await d.audit.by(d.by, {
    action: 'personal_data_erased',
    tenantId: d.tenantId,
    detail: {
      records: keys.length,
      pushes,
      backups,
      // which backups: whoever restores one later can check it against this record
      backupIds,
      keyFingerprint: key.fingerprint ?? null,
      destroyedAt: key.destroyedAt,
    },
  });
  const erasedAt = key.destroyedAt;
  const certificate = await certificatePdf({
    tenantId: d.tenantId,
    tenantName: d.tenantName,
    records: keys.length,
    pushes,
    backups,
    key: { ...key, kekFingerprint: key.kekFingerprint ?? kekFingerprint },
    erasedAt,
  });
  return {
    tenantId: d.tenantId,
    tenantName: d.tenantName,
    records: keys.length,
    pushes,
    backups,
    key,
    erasedAt,
    certificate,
  };
}

const warekiDateTime = (iso: string) => {
  const { date, time } = tokyoDateTime(Date.parse(iso));
  return `${formatWareki(date)} ${time} (日本時間)`;
};

/** The データ消去証明書 as a PDF (A4, IPAex Gothic). */
export async function certificatePdf(c: Omit<ErasureResult, 'certificate'>): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 56,
    info: { Title: 'データ消去証明書', Creator: 'Tayori', CreationDate: new Date(c.erasedAt) },
    lang: 'ja-JP',
    displayTitle: true,
  } as PDFKit.PDFDocumentOptions);
  const chunks: Buffer[] = [];
  doc.on('data', (b: Buffer) => chunks.push(b));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  doc.registerFont('jp', CERTIFICATE_FONT);
  doc.font('jp').fontSize(22).text('データ消去証明書', { align: 'center' }).moveDown(1);
  doc
    .fontSize(11)
    .text(`発行日: ${formatWareki(tokyoDateTime(Date.parse(c.erasedAt)).date)}`, { align: 'right' })
    .moveDown(1);
  doc
    .text('下記のとおり、パパ・ママ応援ショップ優待カードの利用者の個人情報を論理的に消去したことを証明します。')
    .moveDown(1);
  const rows: Array<[string, string]> = [
    ['対象テナント', `${c.tenantName} (${c.tenantId})`],
    [
      '消去したデータ',
      `パパ・ママ応援ショップ優待カードの登録情報 ${c.records.toLocaleString('ja-JP')} 件 (カード対象者の氏名、続柄、世帯の区分、お子さまの氏名・生年月日)`,
    ],
    [
      '消去の方法',
      '論理的消去 (暗号化消去): 上記の情報はテナントごとのデータ鍵 (256 ビット、AES-256-GCM) で暗号化して保存していました。このデータ鍵を破棄し (鍵ファイルをゼロで上書き・同期したうえで削除し、メモリ上の鍵も消去)、暗号化されたデータも削除しました。データ鍵は鍵暗号化鍵でのみ保護されていたため、以後これらの情報を復号する手段はありません。',
    ],
    ...(c.pushes === null
      ? []
      : ([
          [
            '配信記録から削除した宛先',
            `カード利用者へのお知らせ ${c.pushes.toLocaleString('ja-JP')} 件の宛先 (LINE ユーザー ID)。件名・本文・件数などの配信結果は残しています。`,
          ],
        ] as Array<[string, string]>)),
    ...(c.backups === null
      ? []
      : ([
          [
            'バックアップからの削除',
            `このサーバーのバックアップ ${c.backups.toLocaleString('ja-JP')} 件から、このテナントのデータ鍵 (暗号化済み) を削除しました。これらのバックアップを復元しても、上記の情報は復号できません。別の場所に複製したバックアップは、それぞれの保管者が削除してください。`,
          ],
        ] as Array<[string, string]>)),
    ['消去日時', warekiDateTime(c.erasedAt)],
    ['破棄したデータ鍵のフィンガープリント', c.key.fingerprint ?? '(データ鍵はありませんでした)'],
    ['データ鍵の作成日時', c.key.createdAt ? warekiDateTime(c.key.createdAt) : '—'],
    ['鍵暗号化鍵のフィンガープリント', `${c.key.kekFingerprint ?? '—'} (${c.key.provider ?? 'suite'})`],
    ['暗号方式', 'AES-256-GCM (電子政府推奨暗号リスト記載)、フィンガープリントは SHA-256 の先頭 128 ビット'],
  ];
  for (const [label, value] of rows) {
    doc.fontSize(10).fillColor('#444444').text(label);
    doc.fontSize(11).fillColor('#000000').text(value, { indent: 12 }).moveDown(0.6);
  }
  doc
    .moveDown(1)
    .fontSize(10)
    .text('この証明書は Tayori が消去の実行時に作成しました。実行の記録は監査ログにも残っています。');
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}
