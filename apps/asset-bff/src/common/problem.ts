import { AppException } from './app.exception';
import { describeCode, ErrorCode } from './error-code';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  requestId: string;
  fields?: { field: string; problems: string[] }[];
  upstream?: { code: number | null; message: string };
}

/** The problem+json body of an AppException; 5xx bodies say nothing internal. */
export function problemOf(e: AppException, requestId: string): ProblemBody {
  const { status, title } = describeCode(e.code);
  const body: ProblemBody = {
    type: `https://asset-bff.local/problems/${e.code.toLowerCase().replace(/_/g, '-')}`,
    title,
    status,
    code: e.code,
    detail: e.code === ErrorCode.Internal ? 'An unexpected error occurred; quote the requestId when reporting it.' : (e.detail ?? title),
    requestId,
  };
  if (e.extra.fields) body.fields = e.extra.fields;
  if (e.extra.upstream) body.upstream = e.extra.upstream;
  return body;
}
