/** The `tmf` worker: outbound HTTP to SNOW, as many requests at once as its client's connections. */
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createTmfActivities } from '../activities/tmf';
import type { SnowClient } from '../clients/tmf';

export async function createTmfWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  http: SnowClient;
  /** Requests to SNOW at once (TMF_MAX_CONCURRENT): the HTTP client's connections, which `http` was built with. */
  maxConcurrent: number;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createTmfActivities({ http: opts.http }),
    // SNOW sees at most `maxConcurrent` requests: the HTTP client's connections cap them and queue
    // the rest. Four activities run per connection, so one activity's Temporal round trips (poll,
    // then completion) overlap another's request and the connections are not left idle in between.
    maxConcurrentActivityTaskExecutions: opts.maxConcurrent * ACTIVITIES_PER_CONNECTION,
  });
}

export const ACTIVITIES_PER_CONNECTION = 4;
