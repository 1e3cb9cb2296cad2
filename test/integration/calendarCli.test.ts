/** `slm calendar` follows DESIGN §4.2: the answer alone on stdout; bad input → one line on stderr, non-zero. */
import path from 'node:path';
import { ROOT, runCli } from '../support/harness';

const CAL = path.join(ROOT, 'examples', 'calendars', 'eu-ops.yaml');

it.each([
  [['add', '--from', '2026-03-02T07:00:00Z', '--seconds', '14400'], '2026-03-02T11:00:00Z'],
  [['subtract', '--from', '2026-03-02T11:00:00Z', '--seconds', '14400'], '2026-03-02T07:00:00Z'],
  [['diff', '--from', '2026-03-02T07:00:00Z', '--to', '2026-03-03T07:00:00Z'], '36000'],
  [['advance', '--from', '2026-03-07T11:00:00+00:00'], '2026-03-07T21:00:00Z'],
])('slm calendar %j prints %s', async (args, answer) => {
  const [op, ...rest] = args as [string, ...string[]];
  const r = await runCli(['calendar', op, '--calendar', CAL, ...rest]);
  expect(r).toEqual({ code: 0, stdout: answer + '\n', stderr: '' });
});

it.each([
  [['add', '--from', '2026-03-02', '--seconds', '5'], /--from "2026-03-02" is not an ISO 8601 instant/],
  [['add', '--from', '2026-03-02T07:00:00Z', '--seconds', 'ten'], /--seconds "ten" is not a whole number/],
  [['diff', '--from', '2026-03-02T07:00:00Z'], /--to is required/],
  [['multiply', '--from', '2026-03-02T07:00:00Z'], /usage: slm calendar add\|subtract\|diff\|advance/],
])('rejects %j with a one-line reason', async (args, message) => {
  const [op, ...rest] = args as [string, ...string[]];
  const r = await runCli(['calendar', op, '--calendar', CAL, ...rest]);
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
});

it('names the bad field of an invalid calendar file', async () => {
  const r = await runCli(['calendar', 'advance', '--calendar', path.join(ROOT, 'package.json'), '--from', '2026-03-02T07:00:00Z']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^slm: invalid calendar at (id|\(root\)|timezone)/);
});
