/** The SNOW poll loop's status and settings (`slm sync`, and the API), one document for both. */
import { changeSync, syncStatus } from '../client/sync';
import { SYNC_FREQUENCY_RANGE, type SyncSettings, type SyncStatus } from '../workflows/messages';
import type { AppPorts } from './ports';

/** A refused change of the settings (a frequency out of range): the caller's mistake. */
export class SyncSettingsError extends Error {
  override name = 'SyncSettingsError';
}

export async function getSyncStatus(ports: Pick<AppPorts, 'temporal'>): Promise<SyncStatus> {
  return syncStatus(await ports.temporal());
}

export async function changeSyncSettings(ports: Pick<AppPorts, 'temporal'>, patch: Partial<SyncSettings>): Promise<SyncStatus> {
  const client = await ports.temporal();
  try {
    return await changeSync(client, patch);
  } catch (err) {
    throw new SyncSettingsError((err as Error).message, { cause: err });
  }
}

export { SYNC_FREQUENCY_RANGE };

/** The line the CLI prints. */
export function syncStatusText(s: SyncStatus): string {
  return (
    `sync ${s.enabled ? 'enabled' : 'paused'}, every ${s.frequencySeconds} s; last sync ${s.lastSyncAt} UTC; ` +
    `${s.polls} polls, ${s.changesForwarded} changes forwarded${s.lastError ? `; last error: ${s.lastError}` : ''}\n`
  );
}
