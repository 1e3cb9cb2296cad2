/**
 * How this process sends changes to one ticket's workflow: never more updates in flight to a ticket
 * than its slots (the server refuses more than ten, and each refusal drops the run's cached state),
 * and a change the server or the run refused before accepting it is sent again; anything else is the
 * caller's at once.
 */
import { sendToTicket, UPDATES_IN_FLIGHT_PER_TICKET } from '../../src/client/tickets';
import { RUN_CONTINUING_AS_NEW } from '../../src/workflows/messages';

const tick = () => new Promise((r) => setTimeout(r, 5));

it(`keeps at most ${UPDATES_IN_FLIGHT_PER_TICKET} updates in flight to one ticket, in the order they came, without holding back another ticket`, async () => {
  let now = 0;
  let most = 0;
  const started: number[] = [];
  const release: Array<() => void> = [];
  const send = (k: number) => () =>
    new Promise<number>((resolve) => {
      started.push(k);
      most = Math.max(most, ++now);
      release.push(() => {
        now--;
        resolve(k);
      });
    });
  const all = Array.from({ length: 20 }, (_, k) => sendToTicket('T-1', send(k)));
  await tick();
  expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  // Another ticket is not queued behind the first one's callers.
  const other = sendToTicket('T-2', async () => 'other');
  await expect(other).resolves.toBe('other');
  while (release.length > 0) {
    release.shift()!();
    await tick();
  }
  await expect(Promise.all(all)).resolves.toEqual(Array.from({ length: 20 }, (_, k) => k));
  expect(most).toBe(UPDATES_IN_FLIGHT_PER_TICKET);
  expect(started).toEqual(Array.from({ length: 20 }, (_, k) => k));
});

it('sends again a change refused before it was accepted: the run about to continue as new, the in-flight limit, a lost workflow task', async () => {
  const refusals = [
    Object.assign(new Error('Workflow Update failed'), { cause: new Error(RUN_CONTINUING_AS_NEW) }),
    new Error('limit on number of concurrent in-flight updates has been reached (10)'),
    new Error('Unable to perform workflow execution update due to unexpected workflow task failure.'),
  ];
  let attempts = 0;
  const result = await sendToTicket('T-3', async () => {
    const refusal = refusals[attempts++];
    if (refusal) throw refusal;
    return 'measured';
  });
  expect(result).toBe('measured');
  expect(attempts).toBe(4);
});

it('gives any other failure to the caller at once (a refused change is not sent again)', async () => {
  let attempts = 0;
  const refused = Object.assign(new Error('Workflow Update failed'), { cause: new Error('ticket "X" is missing its state') });
  await expect(
    sendToTicket('T-4', async () => {
      attempts++;
      throw refused;
    }),
  ).rejects.toBe(refused);
  expect(attempts).toBe(1);
  // Its slot was given back: the ticket takes changes again.
  await expect(sendToTicket('T-4', async () => 'ok')).resolves.toBe('ok');
});
