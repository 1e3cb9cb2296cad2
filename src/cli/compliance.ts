/**
 * `slm compliance …` and `slm agreements list` (DESIGN §4.8): replay offline, and the live records.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { readStructuredFile } from '../infra/files';
import { parseEvents } from '../domain/replay';
import { complianceReplay } from '../domain/compliance/replay';
import { UsageError } from './format';

function readEvents(file: string): string {
  try {
    return file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `slm compliance replay --definitions FILE --events FILE.jsonl`: one line per check and the end. */
export function complianceReplayCommand(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { definitions: { type: 'string' }, events: { type: 'string' } }, strict: true });
  if (!values.definitions || !values.events) throw new UsageError('usage: slm compliance replay --definitions FILE --events FILE.jsonl');
  let lines;
  try {
    const defs = readStructuredFile(values.definitions, 'definitions');
    lines = complianceReplay(defs, parseEvents(readEvents(values.events))).lines;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
  process.stdout.write(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}
