import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, Span } from '@opentelemetry/api';

/** What the code below a request knows of it without being handed it: its id, and its span when traced. */
export interface RequestScope {
  readonly requestId: string;
  /** The request's server span and the context it is active in; absent with tracing off or a route not traced. */
  readonly span?: Span;
  readonly context?: Context;
}

/**
 * The request scope, entered by the request hooks (request-hooks.ts). AsyncLocalStorage rather than a request-scoped
 * provider (STYLE.md): one store per request, no Nest instantiation on the hot path.
 */
export const requestScopeStorage = new AsyncLocalStorage<RequestScope>();

/** The id of the request the current code runs for (the caller's X-Request-Id or a new one), if any. */
export const currentRequestId = (): string | undefined => requestScopeStorage.getStore()?.requestId;
