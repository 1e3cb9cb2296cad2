/**
 * The shape peer of the e2e and tmf benchmarks: `shapeWorkflow` (src/workflows/echo.ts) has a
 * ticket's shape on Temporal — each change one remote activity on a queue with the tmf worker's
 * slots, its result one search-attribute upsert, a timer between changes — and none of its work.
 * What it reaches on the same server and cores is the floor for any design that makes each SNOW call
 * a remote activity (DESIGN §2.1, the tmf queue).
 */
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { defaultMaxCachedWorkflows } from '../../src/workers/bundle';
import { ACTIVITIES_PER_CONNECTION } from '../../src/workers/tmfWorker';
import { shapeChangeSignal } from '../../src/workflows/echo';
import { SA } from '../../src/workflows/searchAttributes';

export const SHAPE_QUEUE = 'bench-shape';
/** Where the local variant runs: its workflows and their steps on one worker of its own. */
export const LOCAL_SHAPE_QUEUE = 'bench-shape-local';

export const shapeWorkflowId = (id: string, local = false) => `${local ? 'local-shape' : 'shape'}:${id}`;

/**
 * A worker serving the shape's no-op activity, with the tmf worker's slots: `slots` connections,
 * four activities per connection, at most `slots` steps in their `latencyMs` wait at once (as the
 * emulator answers a request after its latency); each reports its step. Started and stopped like the
 * tmf worker.
 */
export async function startShapeWorker(opts: {
  address: string;
  slots: number;
  latencyMs?: number;
  onStep: (workflowId: string, change: string) => void;
}): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: opts.address });
  let busy = 0;
  const waiting: (() => void)[] = [];
  const worker = await Worker.create({
    connection,
    taskQueue: SHAPE_QUEUE,
    maxConcurrentActivityTaskExecutions: opts.slots * ACTIVITIES_PER_CONNECTION,
    activities: {
      shapeStep: async (workflowId: string, change: string) => {
        if (opts.latencyMs) {
          // A freed slot passes straight to the longest waiting step.
          if (busy < opts.slots) busy++;
          else await new Promise<void>((r) => waiting.push(r));
          await new Promise((r) => setTimeout(r, opts.latencyMs));
          const next = waiting.shift();
          if (next) next();
          else busy--;
        }
        opts.onStep(workflowId, change);
      },
    },
  });
  return running(worker, connection);
}

/**
 * The local variant's worker: `shapeWorkflow` runs with its step as a local activity (no remote
 * activity, no tmf queue — two workflow tasks for two changes), the floor of a topology that would
 * call SNOW from the slm worker itself. Same bundle and cache as the slm worker.
 */
export async function startLocalShapeWorker(opts: {
  address: string;
  bundle: WorkflowBundle;
  onStep: (workflowId: string, change: string) => void;
}): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: opts.address });
  const worker = await Worker.create({
    connection,
    taskQueue: LOCAL_SHAPE_QUEUE,
    workflowBundle: opts.bundle,
    maxCachedWorkflows: defaultMaxCachedWorkflows(),
    activities: { shapeStep: async (workflowId: string, change: string) => opts.onStep(workflowId, change) },
  });
  return running(worker, connection);
}

/** Runs the worker until `stop`, which lets it finish and closes its connection. */
function running(worker: Worker, connection: NativeConnection): { stop(): Promise<void> } {
  const run = worker.run();
  return {
    stop: async () => {
      worker.shutdown();
      await run;
      await connection.close();
    },
  };
}

/** The shape's first change, starting its run (as `upsertTicket` starts a ticket's); `local` runs the local variant. */
export function startShape(client: Client, taskQueue: string, id: string, change: string, local = false): Promise<unknown> {
  return client.workflow.signalWithStart('shapeWorkflow', {
    workflowId: shapeWorkflowId(id, local),
    taskQueue: local ? LOCAL_SHAPE_QUEUE : taskQueue,
    args: [SHAPE_QUEUE, local],
    signal: shapeChangeSignal,
    signalArgs: [change],
    typedSearchAttributes: [{ key: SA.ticketId, value: id }],
  });
}

/** A later change of a running shape workflow. */
export function changeShape(client: Client, id: string, change: string, local = false): Promise<void> {
  return client.workflow.getHandle(shapeWorkflowId(id, local)).signal(shapeChangeSignal, change);
}
