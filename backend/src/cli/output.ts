import { once } from 'node:events';

/**
 * Buffered stdout writer: lines are joined into ~64 KiB writes. Writes to files, /dev/null and
 * terminals complete at once; a pipe to a slow reader queues them in memory, so the engine asks
 * pace() between input chunks and waits while more than queueLimit bytes are queued, instead of
 * reading on and letting output pile up. A closed pipe (EPIPE, e.g. "| head") ends output quietly.
 */
export class OutputBuffer {
  private parts: string[] = [];
  private size = 0;
  closed = false;

  private opened: NodeJS.WriteStream | null = null;

  constructor(
    private readonly limit = 64 * 1024,
    private readonly queueLimit = 1024 * 1024,
  ) {}

  /** process.stdout, opened on first use: opening it makes a pipe non-blocking (see generate). */
  private get stdout(): NodeJS.WriteStream {
    if (this.opened) return this.opened;
    this.opened = process.stdout;
    this.opened.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true;
    });
    return this.opened;
  }

  line(s: string): void {
    if (this.closed) throw Object.assign(new Error('output closed'), { code: 'EPIPE' });
    this.parts.push(s);
    this.size += s.length + 1;
    if (this.size >= this.limit) this.flush();
  }

  /**
   * Raw bytes (the ndjson encoder's chunks), written without a copy. Returns true when stdout
   * still holds them (queued for a slow reader): the caller must not reuse that buffer then.
   */
  bytes(b: Uint8Array): boolean {
    if (this.closed) throw Object.assign(new Error('output closed'), { code: 'EPIPE' });
    this.flush();
    this.stdout.write(b);
    return this.stdout.writableLength > 0;
  }

  /** The engine's pace hook: resolves once stdout has drained, while too much output is queued. */
  pace(): Promise<void> | undefined {
    if (this.stdout.writableLength <= this.queueLimit) return undefined;
    return once(this.stdout, 'drain').then(() => undefined);
  }

  flush(): void {
    if (this.parts.length === 0 || this.closed) return;
    this.parts.push('');
    this.stdout.write(this.parts.join('\n'));
    this.parts = [];
    this.size = 0;
  }
}
