/** An EnOS internationalized name: `default` plus locale keys such as `en_US`, `zh_CN`; any key may be missing or empty. */
export type I18nString = Record<string, string | null | undefined> & { default?: string | null };
