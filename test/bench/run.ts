/** `npm run bench -- <name> [--flags]`: runs one benchmark script and prints its figures. */
import * as api from './api';
import * as calendar from './calendar';
import * as ci from './ci';
import * as compliance from './compliance';
import * as dashboard from './dashboard';
import * as e2e from './e2e';
import * as fleet from './fleet';
import * as replay from './replay';
import * as timers from './timers';
import * as tmf from './tmf';

const BENCHES: Record<string, { main(argv: string[]): Promise<void> }> = { api, ci, compliance, dashboard, e2e, calendar, tmf, fleet, replay, timers };

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const bench = name ? BENCHES[name] : undefined;
  if (!bench) {
    process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [options]\n`);
    process.exit(2);
  }
  await bench.main(rest);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
