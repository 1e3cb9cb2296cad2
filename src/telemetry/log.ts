/**
 * Application log lines (the API's requests, start-up): one line per event, readable text by
 * default, one JSON object per line with SLM_LOG_FORMAT=json. Callers pass fields, never secrets:
 * no header, token or password is ever a field.
 */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;
export type Log = (level: LogLevel, msg: string, fields?: LogFields) => void;

export function createLog(format: 'text' | 'json', write: (line: string) => void = (l) => void process.stdout.write(l)): Log {
  if (format === 'json') {
    return (level, msg, fields = {}) => write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  }
  return (level, msg, fields = {}) => {
    const rest = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
      .join(' ');
    write(`${new Date().toISOString()} ${level} ${msg}${rest ? ` ${rest}` : ''}\n`);
  };
}
