/**
 * Debian packages the project runs (DESIGN §5): found on PATH, else installed with apt-get when this
 * process may (root, apt-get present), else a one-line error naming the package to install.
 */
import { InfraError, run, which } from './process';

/** The path of `binary`, installing the Debian package `pkg` first if it is missing. */
export async function ensureDebianBinary(pkg: string, binary: string, log?: (msg: string) => void): Promise<string> {
  const found = await which(binary);
  if (found) return found;
  if (process.getuid?.() !== 0 || !(await which('apt-get'))) {
    throw new InfraError(`${binary} is missing: install the Debian package "${pkg}" (apt-get install ${pkg})`);
  }
  log?.(`installing ${pkg} from Debian packages (apt-get install ${pkg})…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // A stale package index is the usual reason for a failed install: refresh it once and retry.
  await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', pkg], { env }).catch(async () => {
    await run('apt-get', ['update', '-q'], { env });
    await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', pkg], { env });
  });
  const installed = await which(binary);
  if (!installed) throw new InfraError(`apt-get installed ${pkg} but no ${binary} binary is on PATH`);
  return installed;
}

/** Chromium for the dashboard's browser tests and bench (driven by playwright-core). */
export const ensureChromium = (log?: (msg: string) => void) => ensureDebianBinary('chromium', 'chromium', log);

/** pdftotext (poppler-utils), which the tests use to read a report's text back. */
export const ensurePdftotext = (log?: (msg: string) => void) => ensureDebianBinary('poppler-utils', 'pdftotext', log);
