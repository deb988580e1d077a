/**
 * A JSON value already encoded as UTF-8 bytes. The portal-call interceptor splices it into the envelope
 * instead of letting fastify JSON.stringify a 25 MB object graph (a 1,000-user users/assetList on the
 * large profile took ~1 s, mostly stringify, string encoding and GC).
 */
export class RawJson {
  constructor(readonly bytes: Buffer) {}

  /** Anything that still stringifies the envelope gets the same JSON (slowly). */
  toJSON(): unknown {
    return JSON.parse(this.bytes.toString('utf8'));
  }
}

/** The envelope as JSON bytes when one of its top-level values is RawJson, else undefined. */
export function encodeWithRaw(body: unknown): Buffer | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const entries = Object.entries(body as Record<string, unknown>);
  if (!entries.some(([, v]) => v instanceof RawJson)) return undefined;
  const parts: Buffer[] = [];
  let text = '{';
  let first = true;
  for (const [k, v] of entries) {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue; // as JSON.stringify
    text += `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    if (v instanceof RawJson) {
      parts.push(Buffer.from(text, 'utf8'), v.bytes);
      text = '';
    } else text += JSON.stringify(v);
  }
  parts.push(Buffer.from(`${text}}`, 'utf8'));
  return Buffer.concat(parts);
}
