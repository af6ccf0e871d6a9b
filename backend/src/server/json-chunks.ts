import { setImmediate as nextTurn } from 'node:timers/promises';

/** Text written between two turns of the event loop: /health and light answers wait at most this long behind a large one. */
const SLICE_CHARS = 256 * 1024;

/**
 * A query answer as JSON text, piece by piece: frames column by column, with a turn of the event
 * loop after every slice, so writing a large answer (hundreds of thousands of values) never
 * holds up the other requests for the whole of it. The text is what JSON.stringify would write.
 */
export async function* jsonChunks(results: ReadonlyMap<string, { status: number; frames: unknown[]; error?: string }>): AsyncGenerator<string> {
  let written = 0;
  const piece = async function* (text: string): AsyncGenerator<string> {
    yield text;
    written += text.length;
    if (written >= SLICE_CHARS) {
      written = 0;
      await nextTurn();
    }
  };
  yield '{"results":{';
  let firstResult = true;
  for (const [refId, r] of results) {
    yield `${firstResult ? '' : ','}${JSON.stringify(refId)}:{"status":${r.status},${r.error !== undefined ? `"error":${JSON.stringify(r.error)},` : ''}"frames":[`;
    firstResult = false;
    for (const [i, f] of r.frames.entries()) {
      if (i > 0) yield ',';
      if (!isFrame(f)) {
        yield* piece(JSON.stringify(f));
        continue;
      }
      yield* piece(`{"schema":${JSON.stringify(f.schema)},"data":{"values":[`);
      for (const [j, column] of f.data.values.entries()) yield* piece(`${j > 0 ? ',' : ''}${JSON.stringify(column)}`);
      yield ']}}';
    }
    yield ']}';
  }
  yield '}}';
}

function isFrame(f: unknown): f is { schema: unknown; data: { values: unknown[][] } } {
  return typeof f === 'object' && f !== null && 'schema' in f && 'data' in f && Array.isArray((f as { data: { values?: unknown } }).data.values) && Object.keys(f).length === 2 && Object.keys((f as { data: object }).data).length === 1;
}
