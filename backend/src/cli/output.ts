/**
 * Buffered stdout writer: lines are joined into ~64 KiB writes. On Linux, writes to pipes and
 * files are synchronous in Node, so memory stays bounded however slow the reader is.
 * A closed pipe (EPIPE, e.g. "| head") ends output quietly.
 */
export class OutputBuffer {
  private parts: string[] = [];
  private size = 0;
  closed = false;

  constructor(private readonly limit = 64 * 1024) {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true;
    });
  }

  line(s: string): void {
    if (this.closed) throw Object.assign(new Error('output closed'), { code: 'EPIPE' });
    this.parts.push(s);
    this.size += s.length + 1;
    if (this.size >= this.limit) this.flush();
  }

  /** Raw bytes (the ndjson encoder's chunks); copied, so the caller may reuse its buffer. */
  bytes(b: Uint8Array): void {
    if (this.closed) throw Object.assign(new Error('output closed'), { code: 'EPIPE' });
    this.flush();
    process.stdout.write(Buffer.from(b));
  }

  flush(): void {
    if (this.parts.length === 0 || this.closed) return;
    this.parts.push('');
    process.stdout.write(this.parts.join('\n'));
    this.parts = [];
    this.size = 0;
  }
}
