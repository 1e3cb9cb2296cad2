/** Reads a definitions file (YAML or JSON) and validates it; throws a one-line DefinitionError. */
import fs from 'node:fs';
import YAML from 'yaml';
import { DefinitionError, parseDefinitions, type Definitions } from '../domain/definitions';

export function readDefinitionsFile(file: string): Definitions {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DefinitionError(`cannot read definitions file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new DefinitionError(`${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseDefinitions(raw);
}
