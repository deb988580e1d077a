import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { ApiKeyEntry, AppConfig } from './app-config';

const INT_KEYS = [
  'PORT',
  'PORTAL_TIMEOUT_MS',
  'PORTAL_CONCURRENCY',
  'PORTAL_BATCH_SIZE',
  'PORTAL_BATCH_WINDOW_MS',
  'PORTAL_PAGE_SIZE',
  'PAGE_WORKERS',
  'CACHE_TTL_S',
  'CACHE_STALE_S',
  'CACHE_NEGATIVE_TTL_S',
  'CACHE_LOCAL_TTL_MS',
  'CACHE_LOCAL_MAX_ENTRIES',
  'REDIS_TIMEOUT_MS',
  'RATE_LIMIT_PER_S',
  'BODY_LIMIT_BYTES',
  'SHUTDOWN_DRAIN_MS',
] as const;
const STRING_KEYS = [
  'HOST',
  'PORTAL_BASE_URL',
  'PORTAL_APP_KEY',
  'PORTAL_APP_SECRET',
  'REDIS_URL',
  'JWT_SECRET',
  'JWT_JWKS_URL',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWT_USER_CLAIM',
  'JWT_ORG_CLAIM',
  'LOG_LEVEL',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_SERVICE_NAME',
  'OTEL_TRACES_SAMPLER',
] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function flatten(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const name = prefix ? `${prefix}[${e.property}]` : e.property;
    // One line per variable or field however many of its rules failed: a missing one is one problem, not two.
    const messages = Object.values(e.constraints ?? {});
    if (messages.length > 0) out.push(`${name}: ${messages.find((m) => m.endsWith('is required')) ?? messages.join('; ')}`);
    if (e.children?.length) out.push(...flatten(e.children, prefix ? `${prefix}[${e.property}]` : e.property));
  }
  return out;
}

/**
 * Parses and validates the environment once. Throws ConfigError with one line per problem; values of
 * secrets are never echoed.
 */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const k of STRING_KEYS) if (env[k] !== undefined && env[k] !== '') raw[k] = env[k];
  for (const k of INT_KEYS) {
    const v = env[k];
    if (v === undefined || v === '') continue;
    if (!/^-?\d+$/.test(v.trim())) problems.push(`${k}: must be an integer`);
    else raw[k] = Number(v);
  }
  const ratio = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (ratio) {
    if (!/^\d*\.?\d+$/.test(ratio)) problems.push('OTEL_TRACES_SAMPLER_ARG: must be a number in 0..1');
    else raw.OTEL_TRACES_SAMPLER_ARG = Number(ratio);
  }
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase();
  if (disabled) {
    if (disabled !== 'true' && disabled !== 'false') problems.push('OTEL_SDK_DISABLED: must be true or false');
    else raw.OTEL_SDK_DISABLED = disabled === 'true';
  }
  if (env.REDIS_CLUSTER_NODES) raw.REDIS_CLUSTER_NODES = list(env.REDIS_CLUSTER_NODES);
  if (env.CORS_ORIGINS) raw.CORS_ORIGINS = list(env.CORS_ORIGINS);
  if (env.API_KEYS) {
    try {
      const parsed: unknown = JSON.parse(env.API_KEYS);
      if (!Array.isArray(parsed)) problems.push('API_KEYS: must be a JSON array of {id, sha256, orgs, scopes}');
      else raw.API_KEYS = parsed;
    } catch {
      problems.push('API_KEYS: is not valid JSON');
    }
  }
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  if (Array.isArray(raw.API_KEYS)) config.API_KEYS = plainToInstance(ApiKeyEntry, raw.API_KEYS as object[]);
  problems.push(...flatten(validateSync(config, { forbidUnknownValues: false })));
  if (config.REDIS_URL && config.REDIS_CLUSTER_NODES?.length) problems.push('REDIS_URL, REDIS_CLUSTER_NODES: set one of them, not both');
  if (config.JWT_SECRET && config.JWT_JWKS_URL) problems.push('JWT_SECRET, JWT_JWKS_URL: set one of them, not both');
  const ids = new Set<string>();
  for (const k of config.API_KEYS ?? []) {
    if (ids.has(k.id)) problems.push(`API_KEYS: duplicate id "${k.id}"`);
    ids.add(k.id);
  }
  if (problems.length) throw new ConfigError(problems);
  config.API_KEYS = config.API_KEYS.map((k) => ({ ...k, sha256: k.sha256.toLowerCase() }));
  return config;
}
