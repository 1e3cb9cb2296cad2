/**
 * What the use cases need from the outside, acquired on demand: a front end that holds long-lived
 * connections (the HTTP API) hands them out as they are; the CLI opens one per command.
 */
import type { Client } from '@temporalio/client';
import type { EngineSettings } from '../client/tickets';
import type { Db } from '../db/client';

export interface AppPorts {
  /** The Temporal client; rejects with a one-line reason when the server is not reachable. */
  temporal(): Promise<Client>;
  /** The database; rejects when none is configured. */
  db(): Promise<Db>;
  /** Where ticket runs are started. */
  settings: EngineSettings;
}
