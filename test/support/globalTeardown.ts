import fs from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __slmPg?: { stop(): Promise<void> } }).__slmPg?.stop();
  if (process.env.SLM_TEST_DIR) fs.rmSync(process.env.SLM_TEST_DIR, { recursive: true, force: true });
}
