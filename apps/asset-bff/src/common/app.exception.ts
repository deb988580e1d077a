import { ErrorCode } from './error-code';

export interface FieldProblem {
  field: string;
  problems: string[];
}

/** The one exception the service throws; the problem filter turns it into application/problem+json. */
export class AppException extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra: { fields?: FieldProblem[]; upstream?: { code: number | null; message: string }; retryAfterS?: number } = {},
  ) {
    super(detail ?? code);
  }

  static validation(fields: FieldProblem[]): AppException {
    const detail = fields.map((f) => `${f.field}: ${f.problems.join('; ')}`).join(', ');
    return new AppException(ErrorCode.ValidationFailed, detail, { fields });
  }
}
