/**
 * Yields the parsed lines of an NDJSON body as they arrive; only the current partial line is held, so a
 * stream of any length costs memory for what the caller keeps. A reader loop rather than `for await` over
 * the stream, which not every browser supports.
 */
export async function* ndjsonLines<T>(body: ReadableStream<Uint8Array>): AsyncGenerator<T> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let partial = '';
  let finished = false;
  try {
    while (!finished) {
      const { done, value } = await reader.read();
      finished = done;
      const lines = (partial + (done ? decoder.decode() : decoder.decode(value, { stream: true }))).split('\n');
      partial = done ? '' : (lines.pop() ?? '');
      for (const line of lines) if (line.trim()) yield JSON.parse(line) as T;
    }
  } finally {
    // A caller that stops early (or a bad line) must not leave the connection open.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
