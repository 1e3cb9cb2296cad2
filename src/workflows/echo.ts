import { sleep } from '@temporalio/workflow';

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
