/**
 * Temporal's time-skipping test server (Java), resolved with Maven into the per-user cache and run
 * through a wrapper script that `exec`s java, so sdk-core's SIGKILL reaches the JVM itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config';
import { InfraError, run, which } from './process';

export const TEST_SERVER_VERSION = '1.38.0';

export async function ensureTestServer(opts: { cacheDir: string; log?: (msg: string) => void }): Promise<string> {
  const home = path.join(opts.cacheDir, `test-server-${TEST_SERVER_VERSION}`);
  const lib = path.join(home, 'lib');
  const wrapper = path.join(home, 'test-server');
  const jar = path.join(lib, `temporal-test-server-${TEST_SERVER_VERSION}.jar`);
  if (!fs.existsSync(jar)) {
    if (!(await which('mvn'))) throw new InfraError('Maven (mvn) is needed once to fetch the Temporal test server');
    if (!(await which('java'))) throw new InfraError('Java 17+ is needed to run the Temporal test server');
    opts.log?.(`fetching io.temporal:temporal-test-server:${TEST_SERVER_VERSION} with Maven…`);
    await run('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`, '-DincludeScope=runtime', `-Dtemporal.test.server.version=${TEST_SERVER_VERSION}`], {
      cwd: path.join(PROJECT_ROOT, 'tools', 'test-server'),
    });
    if (!fs.existsSync(jar)) throw new InfraError(`Maven finished but ${jar} is missing`);
  }
  const script = `#!/bin/sh\nexec java -Xshare:auto -XX:TieredStopAtLevel=1 -cp '${lib}/*' io.temporal.testserver.TestServer "$@"\n`;
  if (!fs.existsSync(wrapper) || fs.readFileSync(wrapper, 'utf8') !== script) fs.writeFileSync(wrapper, script, { mode: 0o755 });
  return wrapper;
}
