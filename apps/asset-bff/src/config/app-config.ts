import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsNotEmpty, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';

/** OTLP over HTTP only: the gRPC exporter is not part of the service. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
/** The standard samplers of the OpenTelemetry SDK configuration (OTEL_TRACES_SAMPLER). */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TraceSampler = (typeof TRACE_SAMPLERS)[number];
const HTTP_URL = /^https?:\/\/[^\s/$.?#].[^\s]*$/;

export const SCOPES = ['assets:read', 'cache:write'] as const;
export type Scope = (typeof SCOPES)[number];

/** One service caller of API_KEYS: only the SHA-256 of its key is configured. */
export class ApiKeyEntry {
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'id must be 1..64 chars of [A-Za-z0-9_.:-]' })
  id!: string;

  @IsString()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: 'sha256 must be 64 hex characters' })
  sha256!: string;

  @IsArray()
  @ArrayNotEmpty()
  @IsString({ each: true })
  orgs!: string[];

  @IsArray()
  @IsIn(SCOPES as unknown as string[], { each: true })
  scopes!: Scope[];
}

/** The service configuration, parsed once from the environment and validated at boot (API.md section 2). */
export class AppConfig {
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @IsNotEmpty()
  HOST = '0.0.0.0';

  @Matches(/^https?:\/\/[^\s/$.?#].[^\s]*$/, { message: 'PORTAL_BASE_URL must be an http(s) URL' })
  PORTAL_BASE_URL!: string;

  @IsString()
  @IsNotEmpty({ message: 'PORTAL_APP_KEY is required' })
  PORTAL_APP_KEY!: string;

  @IsString()
  @IsNotEmpty({ message: 'PORTAL_APP_SECRET is required' })
  PORTAL_APP_SECRET!: string;

  @IsInt()
  @Min(50)
  @Max(120_000)
  PORTAL_TIMEOUT_MS = 5000;

  @IsInt()
  @Min(1)
  @Max(256)
  PORTAL_CONCURRENCY = 8;

  @IsInt()
  @Min(1)
  @Max(1000)
  PORTAL_BATCH_SIZE = 1000;

  /** How long single-user lookups (access checks of users not cached) wait to share one users/assetList call. */
  @IsInt()
  @Min(0)
  @Max(1000)
  PORTAL_BATCH_WINDOW_MS = 5;

  @IsInt()
  @Min(1)
  @Max(1000)
  PORTAL_PAGE_SIZE = 1000;

  /**
   * Worker threads that digest asset/list pages and users/assetList answers (decode, parse, serialize the answer's
   * parts); 0: the main thread does. Two: a cold 10,000-user batch's first eight answers arrive together, and one
   * thread digesting them one after another set its wall time (see the README's Benchmarks).
   */
  @IsInt()
  @Min(0)
  @Max(8)
  PAGE_WORKERS = 2;

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must look like redis://host:port/db' })
  REDIS_URL?: string;

  @IsOptional()
  @IsArray()
  @Matches(/^[^\s:]+:\d{1,5}$/, { each: true, message: 'REDIS_CLUSTER_NODES must be a comma list of host:port' })
  REDIS_CLUSTER_NODES?: string[];

  @IsInt()
  @Min(1)
  @Max(86_400)
  CACHE_TTL_S = 300;

  @IsInt()
  @Min(0)
  @Max(604_800)
  CACHE_STALE_S = 3600;

  @IsInt()
  @Min(0)
  @Max(86_400)
  CACHE_NEGATIVE_TTL_S = 30;

  /** In-process copy lifetime (not in the contract; 0 turns it off); pub/sub invalidation drops it earlier. */
  @IsInt()
  @Min(0)
  @Max(60_000)
  CACHE_LOCAL_TTL_MS = 30000;

  /** Most user sets kept in process. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  CACHE_LOCAL_MAX_ENTRIES = 20_000;

  /** Bound on every Redis command; past it the cache is bypassed for that request. */
  @IsInt()
  @Min(10)
  @Max(10_000)
  REDIS_TIMEOUT_MS = 1000;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ApiKeyEntry)
  API_KEYS: ApiKeyEntry[] = [];

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  JWT_SECRET?: string;

  @IsOptional()
  @Matches(/^https?:\/\/.+/, { message: 'JWT_JWKS_URL must be an http(s) URL' })
  JWT_JWKS_URL?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  JWT_ISSUER?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  JWT_AUDIENCE?: string;

  @IsString()
  @IsNotEmpty()
  JWT_USER_CLAIM = 'sub';

  @IsString()
  @IsNotEmpty()
  JWT_ORG_CLAIM = 'orgId';

  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_PER_S = 0;

  @IsArray()
  @Matches(/^https?:\/\/[^\s,]+$/, { each: true, message: 'CORS_ORIGINS must be a comma list of http(s) origins' })
  CORS_ORIGINS: string[] = [];

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Largest request body accepted; larger bodies get 413. */
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  BODY_LIMIT_BYTES = 8 * 1024 * 1024;

  /** On SIGTERM: how long readiness says 503 before the server stops accepting, then in-flight requests finish. */
  @IsInt()
  @Min(0)
  @Max(60_000)
  SHUTDOWN_DRAIN_MS = 0;

  /** OTLP/HTTP base URL; spans go to `<it>/v1/traces`. Tracing is on when this or the traces endpoint is set. */
  @IsOptional()
  @Matches(HTTP_URL, { message: 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL' })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  /** OTLP/HTTP URL of the traces signal, used as given (wins over OTEL_EXPORTER_OTLP_ENDPOINT). */
  @IsOptional()
  @Matches(HTTP_URL, { message: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http(s) URL' })
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;

  @IsIn(OTLP_PROTOCOLS, { message: `OTEL_EXPORTER_OTLP_PROTOCOL must be one of ${OTLP_PROTOCOLS.join(', ')}` })
  OTEL_EXPORTER_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';

  @IsString()
  @IsNotEmpty()
  OTEL_SERVICE_NAME = 'asset-bff';

  @IsIn(TRACE_SAMPLERS, { message: `OTEL_TRACES_SAMPLER must be one of ${TRACE_SAMPLERS.join(', ')}` })
  OTEL_TRACES_SAMPLER: TraceSampler = 'parentbased_always_on';

  /** Ratio of the traceidratio samplers, 0..1 (default 1). */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  OTEL_TRACES_SAMPLER_ARG?: number;

  /** The standard kill switch: "true" turns tracing off whatever the endpoint. */
  @IsBoolean()
  OTEL_SDK_DISABLED = false;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
