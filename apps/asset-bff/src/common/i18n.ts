import { I18nString } from '@app/portal-contracts';
import { qValues } from './q-values';

/** A caller's language preferences, most wanted first, as portal keys (`zh_CN`, `en`). */
export type LangPrefs = readonly string[];

/** A language tag as `lang` takes it (`en`, `zh_CN`, `zh-cn`); the OpenAPI document states the same pattern. */
export const LANG_TAG_PATTERN = '^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$';
const TAG = new RegExp(LANG_TAG_PATTERN);
const MAX_TAGS = 8;

/** Normalizes a BCP47-ish tag (`zh-cn`) to the portal's key form (`zh_CN`); undefined when malformed. */
export function normalizeTag(tag: string): string | undefined {
  const t = tag.trim();
  if (!TAG.test(t)) return undefined;
  const [lang, region] = t.split(/[-_]/);
  return region ? `${lang.toLowerCase()}_${caseOf(region)}` : lang.toLowerCase();
}

/** A subtag in BCP 47's case: a region upper case (`CN`), a script title case (`Hant`), others lower case. */
function caseOf(subtag: string): string {
  if (subtag.length === 2) return subtag.toUpperCase();
  if (subtag.length === 4 && /^[A-Za-z]+$/.test(subtag)) return subtag[0].toUpperCase() + subtag.slice(1).toLowerCase();
  return subtag.toLowerCase();
}

/** True when `lang` is an acceptable query value. */
export const isLangTag = (v: string): boolean => TAG.test(v);

/**
 * Language preferences from `?lang=` (wins) or Accept-Language, by q-value (qValues' rules, as for Accept and
 * Accept-Encoding), in header order among equal ones; malformed tags are ignored.
 */
export function langPrefs(lang: string | undefined, acceptLanguage: string | undefined): LangPrefs {
  if (lang) {
    const n = normalizeTag(lang);
    return n ? [n] : [];
  }
  if (!acceptLanguage || acceptLanguage.length > 512) return [];
  const parts: { tag: string; q: number }[] = [];
  for (const [name, q] of [...qValues(acceptLanguage)].slice(0, MAX_TAGS * 2)) {
    const tag = normalizeTag(name);
    if (tag && q > 0) parts.push({ tag, q });
  }
  // A stable sort: equal q-values keep their header order.
  parts.sort((a, b) => b.q - a.q);
  return parts.slice(0, MAX_TAGS).map((p) => p.tag);
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * The localized name: each preferred key exactly (`zh_CN`), then its language alone (`zh` -> the first
 * `zh_*` key), then `default`, then any non-empty value; '' when the name has none.
 */
export function localize(names: I18nString | null | undefined, prefs: LangPrefs): string {
  if (!names) return '';
  for (const p of prefs) {
    const exact = names[p];
    if (nonEmpty(exact)) return exact;
    const lang = p.split('_')[0];
    const alone = names[lang];
    if (nonEmpty(alone)) return alone;
    for (const k of Object.keys(names)) {
      if (k.startsWith(`${lang}_`)) {
        const v = names[k];
        if (nonEmpty(v)) return v;
      }
    }
  }
  if (nonEmpty(names.default)) return names.default;
  for (const v of Object.values(names)) if (nonEmpty(v)) return v;
  return '';
}

/** A stable key of the preferences, for memoizing localized output. */
export const prefsKey = (prefs: LangPrefs): string => prefs.join(',');
