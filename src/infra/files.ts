/** Reading the files users write (definitions, calendars): YAML or JSON by extension, one-line errors. */
import fs from 'node:fs';
import YAML from 'yaml';
import { BusinessCalendar } from '../domain/calendar';
import { DefinitionError, parseDefinitions, type Definitions } from '../domain/definitions';

export class FileFormatError extends Error {
  override name = 'FileFormatError';
}

/** The parsed content of a YAML (or, by its `.json` extension, JSON) file. */
export function readStructuredFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileFormatError(`cannot read ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const json = file.endsWith('.json');
  try {
    return json ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new FileFormatError(`${file} is not valid ${json ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Reads and validates a definitions file; throws a one-line DefinitionError. */
export function readDefinitionsFile(file: string): Definitions {
  try {
    return parseDefinitions(readStructuredFile(file, 'definitions'));
  } catch (err) {
    if (err instanceof FileFormatError) throw new DefinitionError(err.message);
    throw err;
  }
}

/** Reads and validates a calendar file; throws FileFormatError or CalendarError. */
export function readCalendarFile(file: string): BusinessCalendar {
  return BusinessCalendar.fromSpec(readStructuredFile(file, 'calendar'));
}
