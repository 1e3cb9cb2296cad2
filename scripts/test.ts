/**
 * `npm test`: the whole jest suite in one process (the suites start real servers; two cores), then
 * the plain closing line `N passed, N failed` that CI reads. Extra arguments go to jest.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface JestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTestSuites: number;
  numFailedTestSuites: number;
  numRuntimeErrorTestSuites: number;
  success: boolean;
}

async function main(): Promise<number> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'slm-jest-')), 'results.json');
  const jestBin = require.resolve('jest/bin/jest');
  const args = [jestBin, '--runInBand', '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (!fs.existsSync(out)) {
    process.stdout.write('0 passed, 1 failed\n');
    return code || 1;
  }
  const r = JSON.parse(fs.readFileSync(out, 'utf8')) as JestJson;
  // A suite that crashed before its tests ran counts as a failure too.
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  const skipped = r.numPendingTests ? `, ${r.numPendingTests} skipped` : '';
  process.stdout.write(`\n${r.numPassedTests} passed, ${failed} failed${skipped}\n`);
  return failed > 0 || !r.success || r.numPassedTests === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`test runner: ${err.message}\n`);
    process.stdout.write('0 passed, 1 failed\n');
    process.exit(1);
  },
);
