/**
 * Where the FAQ's AI endpoint may point. Staff with 配信 set the URL, so it must not reach what only the
 * server can: loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast and
 * reserved addresses are refused, every address a host name resolves to is checked, and https is
 * required — unless the operator allows the host explicitly (TAYORI_FAQ_AI_ALLOW, comma-separated
 * host names or addresses, e.g. a prefecture's AI on its internal network). The check runs when the
 * settings are saved and again on every call, where the connection's own DNS lookup is checked
 * (a name that resolved to a public address when saved and to an internal one later — DNS rebinding —
 * is refused before connecting).
 */
import dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { AppError } from '../core/errors.ts';

export interface ResolvedAddress {
  address: string;
  family: number;
}
/** Resolves a host name to every address (dns.lookup with all: true by default; tests stand in). */
export type Resolve = (host: string) => Promise<ResolvedAddress[]>;

const systemResolve: Resolve = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // shared address space (carrier-grade NAT; some clouds' metadata)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: an IPv4 address behind it
  ['fc00::', 7], // unique local (fd00:ec2::254 is a cloud's metadata)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv6');

/** An IPv4 address written as IPv6 (::ffff:a.b.c.d or ::ffff:7f00:1) as IPv4; others as they are. */
function unmapped(address: string): string {
  const m = /^::ffff:(?:0:)?(.+)$/i.exec(address);
  if (!m) return address;
  if (isIP(m[1]!) === 4) return m[1]!;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(m[1]!);
  if (!hex) return address;
  const [hi, lo] = [Number.parseInt(hex[1]!, 16), Number.parseInt(hex[2]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Whether an address is one the AI endpoint must not reach (loopback, private, link-local …). */
export function internalAddress(address: string): boolean {
  const a = unmapped(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  const family = isIP(a);
  if (family === 4) return BLOCKED.check(a, 'ipv4');
  if (family === 6) return BLOCKED.check(a, 'ipv6');
  return true; // not an address at all: refuse
}

const hostOf = (u: URL) => u.hostname.toLowerCase().replace(/^\[|\]$/g, '');

const refused = (code: string, message: string) => new AppError(code, message, 400);
const ALLOW_HINT = '内部のサーバーを使う場合は、運用者が TAYORI_FAQ_AI_ALLOW にそのホストを登録してください。';

export interface AiGuard {
  /** Whether the operator allowed this URL's host. */
  allowed(url: URL): boolean;
  /** Checks a URL (https, every resolved address public) unless its host is allowed; 400 with a code. */
  check(endpoint: string): Promise<URL>;
  /** The lookup a connection to a host that is not allowed uses: refuses internal addresses. */
  lookup: LookupFunction;
}

export function createAiGuard(opts: { allow?: readonly string[]; resolve?: Resolve } = {}): AiGuard {
  const allow = new Set((opts.allow ?? []).map((h) => h.toLowerCase()));
  const resolve = opts.resolve ?? systemResolve;
  const allowed = (u: URL) => allow.has(hostOf(u)) || allow.has(u.host.toLowerCase());

  const addressesOf = async (host: string): Promise<ResolvedAddress[]> => {
    if (isIP(host)) return [{ address: host, family: isIP(host) }];
    let list: ResolvedAddress[];
    try {
      list = await resolve(host);
    } catch {
      list = [];
    }
    if (!list.length)
      throw refused(
        'ai_endpoint_unresolved',
        `AI の接続先のホスト名「${host}」を名前解決できません。URL を確かめてください。`,
      );
    return list;
  };
  const firstInternal = (list: ResolvedAddress[]) => list.find((a) => internalAddress(a.address));

  return {
    allowed,
    async check(endpoint) {
      let u: URL;
      try {
        u = new URL(endpoint);
      } catch {
        throw refused('ai_endpoint_invalid', 'AI の接続先の URL を読み取れません。');
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:')
        throw refused('ai_endpoint_invalid', 'AI の接続先は http:// か https:// で始まる URL です。');
      if (u.username || u.password)
        throw refused('ai_endpoint_invalid', 'AI の接続先の URL に利用者名やパスワードは含められません。');
      if (allowed(u)) return u;
      if (u.protocol !== 'https:')
        throw refused(
          'ai_endpoint_https_required',
          `AI の接続先は https:// で始まる URL にしてください (質問の内容を暗号化せずに送らないため)。${ALLOW_HINT}`,
        );
      const host = hostOf(u);
      const bad = firstInternal(await addressesOf(host));
      if (bad)
        throw refused(
          'ai_endpoint_internal',
          `AI の接続先「${host}」は内部向けのアドレス (${bad.address}) のため指定できません (ループバック・プライベート・リンクローカル・メタデータなど)。${ALLOW_HINT}`,
        );
      return u;
    },
    lookup(hostname, options, callback) {
      addressesOf(hostname).then(
        (list) => {
          const bad = firstInternal(list);
          if (bad) {
            callback(
              Object.assign(new Error(`refused internal address ${bad.address} for ${hostname}`), {
                code: 'ai_endpoint_internal',
              }),
              '',
              0,
            );
            return;
          }
          const family = typeof options === 'object' ? options.family : options;
          const fit = family === 4 || family === 6 ? list.filter((a) => a.family === family) : list;
          if (!fit.length) {
            callback(Object.assign(new Error(`no address of family ${family}`), { code: 'ENOTFOUND' }), '', 0);
            return;
          }
          if (typeof options === 'object' && options.all)
            (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, fit);
          else callback(null, fit[0]!.address, fit[0]!.family);
        },
        (err: Error) => callback(err, '', 0),
      );
    },
  };
}
