/** Ids of users, OUs, assets and app access keys: 1..128 chars of [A-Za-z0-9_.:-] (API.md section 3). */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const ID_RULE = '1..128 characters of [A-Za-z0-9_.:-]';

export const isId = (v: unknown): v is string => typeof v === 'string' && ID_PATTERN.test(v);
