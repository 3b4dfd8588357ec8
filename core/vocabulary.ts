/**
 * The built-in words of residents' registration, defined once for the whole suite: delivery asks
 * residents with them, metrics and reports name what they answered, and pages receive them as JSON
 * (`vocabulary` in the page data) instead of typing them again in browser code.
 */

export interface Choice {
  id: string;
  label: string;
}

/** The built-in registration items as residents and staff read them, in the order they are asked. */
export const BUILTIN_ITEM_LABELS: Readonly<Record<string, string>> = {
  lifestyle: '生活スタイル',
  birth_year: '生まれ年',
  gender: '性別',
  residence: 'お住まい',
  news_areas: '知りたい地域',
  interests: '関心のある分野',
};

export const GENDERS: readonly Choice[] = [
  { id: 'female', label: '女性' },
  { id: 'male', label: '男性' },
  { id: 'other', label: 'その他・回答しない' },
];

export const LIFESTYLES: readonly Choice[] = [
  { id: 'worker', label: '会社員・公務員' },
  { id: 'self', label: '自営業' },
  { id: 'student', label: '学生' },
  { id: 'homemaker', label: '家事専業' },
  { id: 'retired', label: '退職・年金生活' },
  { id: 'other', label: 'その他' },
];

/** The attributes a delivery's clicks can be split by (delivery's clickBucket), as staff read them. */
export const CLICK_DIMENSION_LABELS: Readonly<Record<string, string>> = {
  gender: '性別',
  age: '年代 (生まれ年)',
  residence: 'お住まい',
};

/** The label of a built-in option (gender, lifestyle), or undefined for anything else. */
export function builtinOptionLabel(item: string, id: string): string | undefined {
  const list = item === 'gender' ? GENDERS : item === 'lifestyle' ? LIFESTYLES : undefined;
  return list?.find((c) => c.id === id)?.label;
}

/** All of it, as pages receive it in their data block. */
export const VOCABULARY = {
  itemLabels: BUILTIN_ITEM_LABELS,
  genders: GENDERS,
  lifestyles: LIFESTYLES,
  clickDimensions: CLICK_DIMENSION_LABELS,
} as const;
export type Vocabulary = typeof VOCABULARY;

/** How a mileage activity's points are earned (mileage_activities.method), as staff read it. */
export const MILEAGE_METHOD_LABELS: Readonly<Record<string, string>> = {
  qr: '会場QR',
  self_report: '自己申告',
  grant: '職員付与',
};
