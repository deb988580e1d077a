import { ndjsonLines } from './ndjson';

/** A body delivered in the given byte chunks, as a network would cut it. */
function body(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const line of ndjsonLines(stream)) out.push(line);
  return out;
}

describe('ndjsonLines', () => {
  const text = '{"asset":{"id":"a1","name":"风机 1"}}\n\n{"user":{"userId":"u1","assetIds":["a1"]}}\n{"end":{"users":1}}';
  const bytes = new TextEncoder().encode(text);
  const expected = [{ asset: { id: 'a1', name: '风机 1' } }, { user: { userId: 'u1', assetIds: ['a1'] } }, { end: { users: 1 } }];

  it('yields each line whatever the cuts, even inside a multi-byte character, and a last line without newline', async () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await collect(body([bytes.slice(0, cut), bytes.slice(cut)]))).toEqual(expected);
    }
    expect(await collect(body(Array.from(bytes, (b) => Uint8Array.of(b))))).toEqual(expected);
  });

  it('cancels the body when the reader stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('{"n":1}\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const line of ndjsonLines(stream)) {
      expect(line).toEqual({ n: 1 });
      break;
    }
    expect(cancelled).toBe(true);
  });
});
