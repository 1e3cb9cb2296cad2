/**
 * The workflow bundle every worker, test and benchmark runs, the modules its workflows share, and how
 * many cached workflows a worker's heap holds.
 */
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { bundleWorkflowCode, DefaultLogger, type Logger, type WorkflowBundle } from '@temporalio/worker';

// index.ts under tsx, index.js once compiled to dist/.
export const WORKFLOWS_PATH = path.join(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);

/** webpack's build report is noise at start-up; only its errors are worth showing. */
const quietBundler = new DefaultLogger('ERROR');

/**
 * Modules evaluated once per worker and shared by every workflow it hosts, instead of once per
 * cached workflow (the SDK's `preloadModules`): the libraries and our pure domain code. Without this
 * each cached ticket carried its own copy of zod, luxon, cel-js and our schemas (about 0.8 MB), and
 * the first activation of every evicted ticket paid their start-up again. The SDK freezes what these
 * modules export, so they export no zod schema (only accessors) and no mutable state.
 */
export const PRELOADED_WORKFLOW_MODULES = ['zod', 'luxon', '@marcbachmann/cel-js', ...domainModules()];

/** Every module of src/domain and its sub-folders (`.ts` under tsx, `.js` once compiled), so a new one is shared too. */
function domainModules(dir = path.join(__dirname, '..', 'domain')): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return domainModules(path.join(dir, entry.name));
    const m = /^(\w+)\.[jt]s$/.exec(entry.name)?.[1];
    return m === undefined ? [] : [path.join(dir, m)];
  });
}

/**
 * Cached ticket workflows for this process's heap when SLM_MAX_CACHED_WORKFLOWS is unset: 1.5 per
 * MiB above 300 MiB (about 5,800 with Node's 4 GiB default). A cached ticket measured about 0.25 MB
 * of heap with the shared modules above (`npm run bench -- timers` keeps 5,000 in 1.7 GB of RSS), so
 * this leaves the heap half free; the SDK's own default (600 per GiB) evicts and replays sooner.
 */
export function defaultMaxCachedWorkflows(heapLimitBytes = v8.getHeapStatistics().heap_size_limit): number {
  return Math.max(100, Math.floor((heapLimitBytes / 2 ** 20 - 300) * 1.5));
}

/** The workflow bundle every worker, test and benchmark runs. */
export function bundleSlmWorkflows(logger: Logger = quietBundler): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, preloadModules: PRELOADED_WORKFLOW_MODULES, logger });
}
