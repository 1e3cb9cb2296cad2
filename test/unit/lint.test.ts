/** The determinism fence: lint rejects Node built-ins and value imports of activities in workflow code. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const ESLINT = path.join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js');

/** Lints `code` as if it were `file`, with the project's own configuration, in a child process. */
async function messages(code: string, file: string): Promise<string[]> {
  const r = spawnSync(process.execPath, [ESLINT, '--format', 'json', '--stdin', '--stdin-filename', file], { cwd: ROOT, input: code, encoding: 'utf8' });
  const [result] = JSON.parse(r.stdout) as { messages: { ruleId: string; message: string }[] }[];
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

it('rejects a Node built-in in workflow code', async () => {
  const found = await messages("import fs from 'node:fs';\nexport const size = fs.statSync('x').size;\n", 'src/workflows/ticket.ts');
  expect(found.join('\n')).toMatch(/no-restricted-imports: 'node:fs' import is restricted/);
});

it('rejects a value import of activities in workflow code but allows import type', async () => {
  const value = await messages("import { createDbActivities } from '../activities/db';\nexport const a = createDbActivities;\n", 'src/workflows/ticket.ts');
  expect(value.join('\n')).toMatch(/only with `import type`/);
  const typed = await messages("import type { createDbActivities } from '../activities/db';\nexport type A = typeof createDbActivities;\n", 'src/workflows/ticket.ts');
  expect(typed.filter((m) => m.includes('restricted'))).toEqual([]);
});

it('flags a floating promise', async () => {
  const found = await messages('async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n', 'src/activities/db.ts');
  expect(found.join('\n')).toMatch(/no-floating-promises/);
});
