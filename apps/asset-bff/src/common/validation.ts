import { AppException, FieldProblem } from './app.exception';
import { ID_PATTERN, ID_RULE } from './ids';

/**
 * Collects field problems of one request and throws one VALIDATION_FAILED listing them all.
 * Hand-written rather than class-validator for the big bodies (50,000 ids, 10,000 checks): it runs on
 * every request of the hot routes and allocates nothing per element.
 */
export class Problems {
  private readonly list: FieldProblem[] = [];
  private static readonly MAX = 20;

  add(field: string, problem: string): void {
    if (this.list.length >= Problems.MAX) return;
    const f = this.list.find((p) => p.field === field);
    if (f) f.problems.push(problem);
    else this.list.push({ field, problems: [problem] });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  throwIfAny(): void {
    if (this.list.length) throw AppException.validation(this.list);
  }

  /** A plain JSON object (not null, not an array). */
  object(v: unknown, field: string): v is Record<string, unknown> {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return true;
    this.add(field, 'must be a JSON object');
    return false;
  }

  /** Rejects fields not in `allowed`. */
  known(obj: Record<string, unknown>, allowed: readonly string[], prefix = ''): void {
    for (const k of Object.keys(obj)) if (!allowed.includes(k)) this.add(prefix + k, 'is not an allowed field');
  }

  id(v: unknown, field: string): v is string {
    if (typeof v === 'string' && ID_PATTERN.test(v)) return true;
    this.add(field, typeof v === 'string' ? `must be ${ID_RULE}` : 'must be a string');
    return false;
  }

  /** An array of ids with min..max elements; returns it when valid. */
  idArray(v: unknown, field: string, min: number, max: number): string[] | undefined {
    if (!Array.isArray(v)) {
      this.add(field, 'must be an array of strings');
      return undefined;
    }
    if (v.length < min || v.length > max) {
      this.add(field, `must have ${min}..${max} elements (got ${v.length})`);
      return undefined;
    }
    let ok = true;
    for (let i = 0; i < v.length; i++) {
      const e: unknown = v[i];
      if (typeof e !== 'string' || !ID_PATTERN.test(e)) {
        ok = false;
        this.add(`${field}[${i}]`, typeof e === 'string' ? `must be ${ID_RULE}` : 'must be a string');
        if (!this.empty && i > 0 && !ok && this.list.length >= Problems.MAX) break;
      }
    }
    return ok ? (v as string[]) : undefined;
  }
}

/** Validates every path parameter as an id (all of this service's path parameters are ids); throws VALIDATION_FAILED. */
export function validateIdParams(params: Record<string, string | undefined>): void {
  const p = new Problems();
  for (const [k, v] of Object.entries(params)) p.id(v, k);
  p.throwIfAny();
}

/**
 * Runs each parser of one request (query, headers, body) and throws one VALIDATION_FAILED listing the fields of every
 * one that failed, so that a caller learns all of its mistakes at once; other errors pass through.
 */
export function parseAll<T extends unknown[]>(...parsers: { [K in keyof T]: () => T[K] }): T {
  const fields: FieldProblem[] = [];
  const out = parsers.map((parse) => {
    try {
      return parse();
    } catch (e) {
      if (!(e instanceof AppException) || e.extra.fields === undefined) throw e;
      fields.push(...e.extra.fields);
      return undefined;
    }
  });
  if (fields.length > 0) throw AppException.validation(fields);
  return out as T;
}
