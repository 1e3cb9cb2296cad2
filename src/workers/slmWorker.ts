/** The `slm` worker: ticket and problem-sync workflows, and the database, engine and action activities. */
import type { NativeConnection, Worker as WorkerType, WorkflowBundleOption } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createActionActivities, type ActionSettings } from '../activities/actions';
import { createDbActivities } from '../activities/db';
import { createComplianceActivities } from '../activities/compliance';
import { complianceNudger, NO_NUDGES } from '../activities/complianceNudge';
import { createEngineActivities, type WorkerFacts } from '../activities/engine';
import type { Db } from '../db/client';
import { bundleSlmWorkflows, defaultMaxCachedWorkflows } from './bundle';
import { NO_ACTIONS } from './wiring';

export async function createSlmWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  /** Milestone action settings (webhook key, SMTP, source webhook); none configured by default. */
  actions?: ActionSettings;
  /** SNOW_HTTP_TIMEOUT in seconds: sizes the start-to-close of the tmf activities runs schedule. */
  snowHttpTimeoutSeconds?: number;
  /** Workflows kept in memory (SLM_MAX_CACHED_WORKFLOWS); by default sized from the heap. */
  maxCachedWorkflows?: number | undefined;
  /** SLM_STICKY_TIMEOUT in seconds: how long a task waits for the worker that caches its ticket. */
  stickyTimeoutSeconds?: number;
  workflowBundle?: WorkflowBundleOption;
  /** Whether saved measurements wake the compliance run (DESIGN §4.8); on unless a test says otherwise. */
  compliance?: boolean;
}): Promise<WorkerType> {
  const facts: WorkerFacts = {
    writesBack: !!opts.actions?.sourceWebhook,
    // A tmf activity makes at most two requests (a look-up, then the call itself).
    tmfTimeoutSeconds: opts.snowHttpTimeoutSeconds ? 2 * opts.snowHttpTimeoutSeconds + 10 : null,
  };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: opts.workflowBundle ?? (await bundleSlmWorkflows()),
    maxCachedWorkflows: opts.maxCachedWorkflows ?? defaultMaxCachedWorkflows(),
    stickyQueueScheduleToStartTimeout: `${opts.stickyTimeoutSeconds ?? 60}s`,
    activities: {
      ...createDbActivities({ db: opts.db, facts, compliance: opts.compliance === false ? NO_NUDGES : complianceNudger() }),
      ...createComplianceActivities({ db: opts.db }),
      ...createEngineActivities(facts),
      ...createActionActivities({ db: opts.db, settings: opts.actions ?? NO_ACTIONS }),
    },
  });
}
