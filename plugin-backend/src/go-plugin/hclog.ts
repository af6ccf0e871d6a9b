/**
 * Logs as go-plugin's host reads a plugin's stderr: one JSON object per line in hclog's shape
 * (`@level`, `@message`, `@timestamp`, then the fields), which Grafana turns into its own log lines
 * at that level. stdout is reserved for the handshake line.
 */
export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** hclog's timestamp layout: 2006-01-02T15:04:05.000000Z07:00 (microseconds, UTC here). */
function timestamp(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function hclogLogger(write: (line: string) => void, minimum: Level = 'info', module = 'capsight-flows'): Logger {
  const log = (level: Level, message: string, fields: Record<string, unknown> = {}): void => {
    if (ORDER[level] < ORDER[minimum]) return;
    const entry: Record<string, unknown> = { '@level': level, '@message': message, '@module': module, '@timestamp': timestamp(new Date()) };
    for (const [k, v] of Object.entries(fields)) entry[k] = v instanceof Error ? v.message : v;
    write(`${JSON.stringify(entry)}\n`);
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  };
}

/** The level Grafana asks for: GF_PLUGIN_LOG_LEVEL or the SDK's GF_LOG_LEVEL, else info. */
export function levelFromEnv(env: NodeJS.ProcessEnv): Level {
  const v = (env.GF_PLUGIN_LOG_LEVEL ?? env.GF_LOG_LEVEL ?? '').toLowerCase();
  return v in ORDER ? (v as Level) : v === 'warning' ? 'warn' : 'info';
}
