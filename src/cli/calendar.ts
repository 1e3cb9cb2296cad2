/**
 * `slm calendar add|subtract|diff|advance` (DESIGN §4.2). The answer alone on stdout; bad input is a
 * UsageError (one line on stderr, exit 2). `--json` adds structure; the plain form stays.
 */
import { parseArgs } from 'node:util';
import { CalendarError, type BusinessCalendar } from '../domain/calendar';
import { readCalendarFile } from '../infra/files';
import { UsageError } from './format';

const OPS = ['add', 'subtract', 'diff', 'advance'] as const;
type Op = (typeof OPS)[number];

function loadCalendar(file: string): BusinessCalendar {
  try {
    return readCalendarFile(file);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function instant(flag: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`--${flag} is required (an ISO 8601 instant such as 2026-03-02T09:30:00Z)`);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value) || Number.isNaN(Date.parse(value))) {
    throw new UsageError(`--${flag} "${value}" is not an ISO 8601 instant with Z or an offset (e.g. 2026-03-02T09:30:00Z)`);
  }
  return Date.parse(value);
}

function seconds(value: string | undefined): number {
  if (value === undefined) throw new UsageError('--seconds is required (a whole number of business seconds)');
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`--seconds "${value}" is not a whole number ≥ 0`);
  return Number(value);
}

export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export async function calendarCommand(op: string | undefined, argv: string[]): Promise<void> {
  if (!op || !(OPS as readonly string[]).includes(op)) throw new UsageError(`usage: slm calendar ${OPS.join('|')} --calendar FILE --from ISO [--seconds N | --to ISO] [--json]`);
  const { values } = parseArgs({
    args: argv,
    options: { calendar: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  if (!values.calendar) throw new UsageError('--calendar FILE is required');
  const from = instant('from', values.from);
  const args = { to: op === 'diff' ? instant('to', values.to) : undefined, seconds: op === 'add' || op === 'subtract' ? seconds(values.seconds) : undefined };
  const cal = loadCalendar(values.calendar);
  let answer: string;
  try {
    switch (op as Op) {
      case 'add':
        answer = formatInstant(cal.add(from, args.seconds!));
        break;
      case 'subtract':
        answer = formatInstant(cal.subtract(from, args.seconds!));
        break;
      case 'advance':
        answer = formatInstant(cal.advance(from));
        break;
      case 'diff':
        answer = String(cal.diff(from, args.to!));
        break;
    }
  } catch (err) {
    if (err instanceof CalendarError) throw new UsageError(err.message);
    throw err;
  }
  if (values.json) {
    const key = op === 'diff' ? 'seconds' : 'instant';
    process.stdout.write(
      JSON.stringify({
        op,
        calendar: cal.id,
        from: formatInstant(from),
        ...(args.to === undefined ? {} : { to: formatInstant(args.to) }),
        ...(args.seconds === undefined ? {} : { seconds: args.seconds }),
        [key]: op === 'diff' ? Number(answer) : answer,
      }) + '\n',
    );
  } else {
    process.stdout.write(answer + '\n');
  }
}
