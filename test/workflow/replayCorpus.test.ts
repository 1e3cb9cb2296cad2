/**
 * Workflows live for weeks: the histories that earlier releases' ticket workflows left behind
 * (`test/histories/`, recorded with `scripts/record-histories.ts` from a checkout of that release)
 * must replay with the current code, or a release would break the tickets in flight.
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { loadBundle } from '../support/harness';

const DIR = path.join(__dirname, '..', 'histories');
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.history.pb'))
  .sort();

it('has recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(12);
});

it.each(files)('replays %s with the current workflow code', async (file) => {
  const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, file)));
  expect(history.events.length).toBeGreaterThan(10);
  await expect(Worker.runReplayHistory({ workflowBundle: loadBundle() }, history, `replay-${file}`)).resolves.toBeUndefined();
});
