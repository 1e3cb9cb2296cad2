import { condition, defineSignal, proxyActivities, proxyLocalActivities, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { SA } from './searchAttributes';

/**
 * A workflow that does nothing but return its input: the peer of `npm run bench -- e2e`, which
 * measures how many of these the same server and worker complete per second.
 */
export async function echoWorkflow(value: string): Promise<string> {
  return value;
}

/**
 * The peer of `npm run bench -- timers`' burst: one durable timer to an instant (epoch ms), then
 * its input back. Thousands due at once measure how fast the same server and worker fire bare
 * timers, the bound for the tickets' firings.
 */
export async function echoAtWorkflow(value: string, at: number): Promise<string> {
  await sleep(Math.max(0, at - Date.now()));
  return value;
}

/** A change for `shapeWorkflow` (the ticket state it would carry). */
export const shapeChangeSignal = defineSignal<[string]>('shapeChange');

/**
 * The peer of `npm run bench -- e2e` that has a ticket's shape on Temporal and none of its work:
 * each change (a signal) is one remote activity on `queue` (as the SNOW call is on the tmf queue),
 * its result one search-attribute upsert, and between changes the run waits on a timer, as a ticket
 * waits for its next due instant. Four workflow tasks, two activities, two upserts and two timers for
 * two changes — the floor any design of that shape has on the same server and workers.
 */
export async function shapeWorkflow(queue: string, local = false): Promise<void> {
  type Steps = { shapeStep(workflowId: string, change: string): Promise<void> };
  // `local`: the step as a local activity of the worker running the run (no tmf queue), the floor of that other topology.
  const { shapeStep } = local ? proxyLocalActivities<Steps>({ startToCloseTimeout: '1 minute' }) : proxyActivities<Steps>({ taskQueue: queue, startToCloseTimeout: '1 minute' });
  const inbox: string[] = [];
  setHandler(shapeChangeSignal, (change) => void inbox.push(change));
  for (;;) {
    if (!(await condition(() => inbox.length > 0, '30 days'))) return;
    const change = inbox.shift()!;
    await shapeStep(workflowInfo().workflowId, change);
    upsertSearchAttributes([{ key: SA.ticketState, value: change }]);
  }
}
