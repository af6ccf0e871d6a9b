/**
 * Every failure Capsight reports on purpose is a CapsightError with a stable code.
 * Messages are one line, name the input and (for capture damage) the byte offset.
 */
export type ErrorCode =
  | 'NOT_A_CAPTURE'
  | 'EMPTY_INPUT'
  | 'UNSUPPORTED_VERSION'
  | 'CAPTURE_TRUNCATED'
  | 'CAPTURE_CORRUPT'
  | 'INPUT_UNREADABLE'
  | 'CAPTURE_TOO_LARGE'
  | 'BAD_ARGUMENT';

export class CapsightError extends Error {
  readonly code: ErrorCode;
  /** Absolute byte offset in the (decompressed) capture where the problem was found. */
  readonly offset?: number;

  constructor(code: ErrorCode, message: string, offset?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CapsightError';
    this.code = code;
    this.offset = offset;
  }
}

/** Damage that still leaves the packets before it usable (truncated or corrupt records). */
export function isCaptureDamage(err: unknown): err is CapsightError {
  return err instanceof CapsightError && (err.code === 'CAPTURE_TRUNCATED' || err.code === 'CAPTURE_CORRUPT');
}
