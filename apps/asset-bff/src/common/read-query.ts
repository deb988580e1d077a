import { isLangTag } from './i18n';
import { Problems } from './validation';

/** Query of the asset reads: `lang` (optional, a language tag such as `zh_CN` or `en`). Other query names are ignored. */
export interface ReadQuery {
  lang?: string;
}

export const MAX_LANG = 16;

/** Validates the read query; throws VALIDATION_FAILED naming `lang`. */
export function parseReadQuery(q: Record<string, unknown> | undefined, problems = new Problems()): ReadQuery {
  const lang = q?.lang;
  if (lang === undefined) return {};
  if (typeof lang !== 'string' || lang.length > MAX_LANG || !isLangTag(lang)) {
    problems.add('lang', 'must be a language tag such as en, en_US or zh-CN');
    problems.throwIfAny();
  }
  return { lang: lang as string };
}
