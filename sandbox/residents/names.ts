/** Japanese display names for simulated residents, derived from a hash. */
import { hash3 } from './prng.ts';

const FAMILY = [
  ['佐藤', 'さとう', 'Sato'],
  ['鈴木', 'すずき', 'Suzuki'],
  ['高橋', 'たかはし', 'Takahashi'],
  ['田中', 'たなか', 'Tanaka'],
  ['伊藤', 'いとう', 'Ito'],
  ['渡辺', 'わたなべ', 'Watanabe'],
  ['山本', 'やまもと', 'Yamamoto'],
  ['中村', 'なかむら', 'Nakamura'],
  ['小林', 'こばやし', 'Kobayashi'],
  ['加藤', 'かとう', 'Kato'],
  ['吉田', 'よしだ', 'Yoshida'],
  ['山田', 'やまだ', 'Yamada'],
  ['佐々木', 'ささき', 'Sasaki'],
  ['山口', 'やまぐち', 'Yamaguchi'],
  ['松本', 'まつもと', 'Matsumoto'],
  ['井上', 'いのうえ', 'Inoue'],
  ['木村', 'きむら', 'Kimura'],
  ['林', 'はやし', 'Hayashi'],
  ['斎藤', 'さいとう', 'Saito'],
  ['清水', 'しみず', 'Shimizu'],
  ['山崎', 'やまざき', 'Yamazaki'],
  ['森', 'もり', 'Mori'],
  ['池田', 'いけだ', 'Ikeda'],
  ['橋本', 'はしもと', 'Hashimoto'],
  ['阿部', 'あべ', 'Abe'],
  ['石川', 'いしかわ', 'Ishikawa'],
  ['山下', 'やました', 'Yamashita'],
  ['中島', 'なかじま', 'Nakajima'],
  ['石井', 'いしい', 'Ishii'],
  ['小川', 'おがわ', 'Ogawa'],
  ['前田', 'まえだ', 'Maeda'],
  ['岡田', 'おかだ', 'Okada'],
  ['長谷川', 'はせがわ', 'Hasegawa'],
  ['藤田', 'ふじた', 'Fujita'],
  ['後藤', 'ごとう', 'Goto'],
  ['近藤', 'こんどう', 'Kondo'],
  ['村上', 'むらかみ', 'Murakami'],
  ['遠藤', 'えんどう', 'Endo'],
  ['青木', 'あおき', 'Aoki'],
  ['坂本', 'さかもと', 'Sakamoto'],
] as const;

const GIVEN_MALE = [
  ['翔太', 'しょうた', 'Shota'],
  ['大輔', 'だいすけ', 'Daisuke'],
  ['健太', 'けんた', 'Kenta'],
  ['拓也', 'たくや', 'Takuya'],
  ['直樹', 'なおき', 'Naoki'],
  ['浩二', 'こうじ', 'Koji'],
  ['誠', 'まこと', 'Makoto'],
  ['隆', 'たかし', 'Takashi'],
  ['博', 'ひろし', 'Hiroshi'],
  ['茂', 'しげる', 'Shigeru'],
  ['修', 'おさむ', 'Osamu'],
  ['勇', 'いさむ', 'Isamu'],
  ['健一', 'けんいち', 'Kenichi'],
  ['和也', 'かずや', 'Kazuya'],
  ['達也', 'たつや', 'Tatsuya'],
  ['蓮', 'れん', 'Ren'],
  ['悠真', 'ゆうま', 'Yuma'],
  ['陽翔', 'はると', 'Haruto'],
  ['湊', 'みなと', 'Minato'],
  ['大和', 'やまと', 'Yamato'],
] as const;

const GIVEN_FEMALE = [
  ['陽子', 'ようこ', 'Yoko'],
  ['恵子', 'けいこ', 'Keiko'],
  ['美穂', 'みほ', 'Miho'],
  ['由美', 'ゆみ', 'Yumi'],
  ['直美', 'なおみ', 'Naomi'],
  ['裕子', 'ゆうこ', 'Yuko'],
  ['幸子', 'さちこ', 'Sachiko'],
  ['和子', 'かずこ', 'Kazuko'],
  ['明美', 'あけみ', 'Akemi'],
  ['真由美', 'まゆみ', 'Mayumi'],
  ['愛', 'あい', 'Ai'],
  ['美咲', 'みさき', 'Misaki'],
  ['結衣', 'ゆい', 'Yui'],
  ['陽菜', 'ひな', 'Hina'],
  ['さくら', 'さくら', 'Sakura'],
  ['花子', 'はなこ', 'Hanako'],
  ['智子', 'ともこ', 'Tomoko'],
  ['久美子', 'くみこ', 'Kumiko'],
  ['舞', 'まい', 'Mai'],
  ['彩', 'あや', 'Aya'],
] as const;

const STATUS = ['よろしくお願いします', '毎日ウォーキング', '健康第一', '🌸', '孫が生まれました', '', '', '', '', ''];

/** Display name and status message for a resident; `female` picks the given-name list. */
export function nameOf(key: number, index: number, female: boolean): { displayName: string; statusMessage?: string } {
  const f = FAMILY[hash3(key, index, 201) % FAMILY.length]!;
  const list = female ? GIVEN_FEMALE : GIVEN_MALE;
  const g = list[hash3(key, index, 202) % list.length]!;
  const style = hash3(key, index, 203) % 20;
  let displayName: string;
  if (style < 9) displayName = `${f[0]} ${g[0]}`;
  else if (style < 12) displayName = `${f[0]}${g[0]}`;
  else if (style < 14) displayName = g[1];
  else if (style < 16) displayName = `${g[2]} ${f[2]}`;
  else if (style < 18) displayName = g[0];
  else displayName = `${f[1]}${g[1]}`;
  const status = STATUS[hash3(key, index, 204) % STATUS.length]!;
  return status ? { displayName, statusMessage: status } : { displayName };
}
