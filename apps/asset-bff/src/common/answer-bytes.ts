import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

// Kept only while common/http.ts and assets/user-assets.hot-path.ts import these names: answers are one Buffer now
// (JSON.stringify once, then Buffer.from). Delete the file once they take `Buffer` and call `res.end(body)`.

/** @deprecated The parts of an answer as http.ts still reads them: never produced any more. */
interface LegacyParts {
  readonly length: number;
  stream(): Readable;
}

/** @deprecated An answer's JSON bytes: a Buffer (LegacyParts only keeps http.ts compiling until it drops this type). */
export type AnswerBytes = Buffer | LegacyParts;

/** @deprecated `res.end(body)`. */
export function endWith(res: ServerResponse, body: AnswerBytes): void {
  if (!Buffer.isBuffer(body)) throw new Error('answers are one Buffer');
  res.end(body);
}
