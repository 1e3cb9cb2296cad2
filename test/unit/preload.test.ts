/**
 * The slm worker preloads the libraries and the domain modules once and shares them between all
 * its workflows; the SDK then deep-freezes everything those modules export (reusable-vm.js). Code
 * that writes to an exported object afterwards throws in workflows only — zod's shared e-mail
 * pattern did, when zod reset its `lastIndex`. This suite freezes the same modules the same way and
 * drives every schema and engine path through them, so such a write fails here first.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as Yaml from 'yaml';
import type * as Connector from '../../src/domain/snow/connector';
import type * as Definitions from '../../src/domain/definitions';
import type * as Replay from '../../src/domain/replay';
import type * as ServiceProblems from '../../src/domain/snow/serviceProblem';
import type * as Tickets from '../../src/domain/ticket';
import { PRELOADED_WORKFLOW_MODULES } from '../../src/workers/bundle';

/** The SDK's freeze: own properties of objects are frozen recursively, functions are frozen shallowly. */
function deepFreeze(value: unknown, seen = new WeakSet<object>()): void {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
  if (seen.has(value) || Object.isFrozen(value)) return;
  seen.add(value);
  if (typeof value === 'object') {
    for (const key of Reflect.ownKeys(value)) {
      try {
        deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
      } catch {
        // typed arrays and the like cannot be frozen; the SDK skips them too
      }
    }
  }
  Object.freeze(value);
}

/* eslint-disable @typescript-eslint/no-require-imports -- the modules are loaded, and frozen, before the suite's own imports of them */
for (const m of PRELOADED_WORKFLOW_MODULES) deepFreeze(require(m));

const { compiledDefinitionsOf, parseDefinitions } = require('../../src/domain/definitions') as typeof Definitions;
const { parseTicket } = require('../../src/domain/ticket') as typeof Tickets;
const { parseEvents, replay } = require('../../src/domain/replay') as typeof Replay;
const { toServiceProblem, closingPatch } = require('../../src/domain/snow/serviceProblem') as typeof ServiceProblems;
const { DEFAULT_CONNECTOR } = require('../../src/domain/snow/connector') as typeof Connector;
const YAML = require('yaml') as typeof Yaml;
/* eslint-enable @typescript-eslint/no-require-imports */

const examples = path.join(__dirname, '..', '..', 'examples');
const calendar = YAML.parse(fs.readFileSync(path.join(examples, 'calendars', 'eu-ops.yaml'), 'utf8')) as unknown;

const everyFeature = {
  calendars: [calendar],
  serviceTargets: [
    {
      id: 'P1',
      appliesTo: 'ticket.priority == 1',
      start: 'ticket.state != "Draft"',
      stop: 'ticket.state == "Closed"',
      exclude: 'ticket.state == "On Hold"',
      goal: { schedule: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00', goal: '2h', costPerMinute: 3 }, { goal: '8h' }] },
      calendar: { fromField: 'calendar' },
      startTime: { fromField: 'openedAt' },
      milestones: [
        { name: 'half', at: { percentOfGoal: 50 }, actions: [{ notify: { webhook: 'http://127.0.0.1:9/hook', email: ['ops@example.com', 'noc@example.org'], subject: 'half' } }] },
        { name: 'late', at: { afterDue: '0s' }, repeat: { every: '30m', times: 2 }, if: 'ticket.state != "On Hold"', actions: [{ raiseAlarm: { perceivedSeverity: 'major' } }] },
        { name: 'soon', at: { beforeDue: '10m' }, actions: [{ setField: { escalated: true } }] },
        { name: 'begun', at: { on: 'start' }, actions: [{ startWorkflow: { workflowType: 'audit', input: { a: [1, 'x'] } } }] },
        { name: 'vip', at: { when: 'ticket.vip == true' }, actions: [{ notify: { email: 'vip@example.com' } }] },
      ],
    },
    { id: 'P1-field', appliesTo: 'ticket.priority == 1', stop: 'ticket.state == "Closed"', goal: { fromField: 'dueAt' } },
  ],
  connector: { onRemoteChange: [{ when: 'problem.status == "resolved"', setField: { state: 'Closed' } }] },
  sources: [{ name: 'zammad', accept: 'has(body.ticket)', fields: { id: 'body.ticket.number', state: 'body.ticket.state' } }],
  tenantField: 'company',
};

describe('domain modules frozen as the workflow worker shares them', () => {
  it('shares every domain module, those in the area sub-folders too', () => {
    const rel = PRELOADED_WORKFLOW_MODULES.map((m) => m.replace(/\\/g, '/').replace(/^.*\/src\/domain\//, 'domain/'));
    for (const m of ['domain/conditions', 'domain/celFast', 'domain/request/engine', 'domain/request/measurement', 'domain/snow/snowCycle', 'domain/snow/serviceProblem'])
      expect(rel).toContain(m);
  });

  it('validates a document with every feature, and rejects bad ones with their path', () => {
    const defs = parseDefinitions(everyFeature);
    expect(defs.serviceTargets[0]!.milestones[0]!.actions[0]).toEqual({
      notify: { webhook: 'http://127.0.0.1:9/hook', email: ['ops@example.com', 'noc@example.org'], subject: 'half' },
    });
    expect(compiledDefinitionsOf('v1', everyFeature).targets.map((t) => t.id)).toEqual(['P1', 'P1-field']);
    expect(compiledDefinitionsOf('v1', everyFeature)).toBe(compiledDefinitionsOf('v1', everyFeature));

    const bad = (patch: Record<string, unknown>) => () => parseDefinitions({ serviceTargets: [{ ...everyFeature.serviceTargets[1], ...patch }] });
    expect(bad({ milestones: [{ name: 'm', at: { percentOfGoal: 50 }, actions: [{ notify: { email: 'not an address' } }] }] })).toThrow(
      /serviceTargets\[0\]\.milestones\[0\]\.actions\[0\]\.notify\.email.*e-mail/,
    );
    expect(bad({ milestones: [{ name: 'm', at: { percentOfGoal: 50 }, actions: [{ notify: { webhook: 'ftp://x' } }] }] })).toThrow(/notify\.webhook/);
    expect(bad({ goal: { duration: 'soon' } })).toThrow(/serviceTargets\[0\]\.goal/);
    expect(bad({ stop: 'ticket.state ==' })).toThrow(/serviceTargets\[0\]\.stop: invalid CEL/);
    expect(() => parseDefinitions({ calendars: [{ ...(calendar as object), timezone: 'Mars/Olympus' }] })).toThrow(/calendars\[0\]\.timezone/);
  });

  it('validates tickets', () => {
    expect(parseTicket({ id: 'T1', priority: 1, state: 'New', extra: { a: [1] } })).toMatchObject({ id: 'T1', priority: 1 });
    expect(parseTicket({ id: 'T1', priority: '2 normal' })).toMatchObject({ priority: '2 normal' });
    expect(() => parseTicket({ id: 'T1', big: 'x'.repeat(300 * 1024) })).toThrow(/larger than 256 KiB/);
  });

  it('measures a ticket through calendars, pauses and milestones', () => {
    const events = [
      { at: '2026-03-02T07:00:00Z', ticket: { id: 'T1', priority: 1, state: 'New', calendar: 'eu-ops', openedAt: '2026-03-02T06:30:00Z', dueAt: '2026-03-02T12:00:00Z' } },
      {
        at: '2026-03-02T08:00:00Z',
        ticket: { id: 'T1', priority: 1, state: 'On Hold', calendar: 'eu-ops', openedAt: '2026-03-02T06:30:00Z', dueAt: '2026-03-02T12:00:00Z', vip: true },
      },
      {
        at: '2026-03-02T09:00:00Z',
        ticket: { id: 'T1', priority: 1, state: 'In Progress', calendar: 'eu-ops', openedAt: '2026-03-02T06:30:00Z', dueAt: '2026-03-02T12:00:00Z', vip: true },
      },
      { at: '2026-03-03T12:00:00Z', check: 'later' },
    ];
    const fired: string[] = [];
    const out = replay(everyFeature, parseEvents(events.map((e) => JSON.stringify(e)).join('\n')), (e) => fired.push(`${e.milestone}#${e.actionIndex}`));
    const byId = Object.fromEntries(out[0]!.measurements.map((m) => [m.serviceTargetId, m]));
    expect(byId.P1).toMatchObject({ status: 'MissedGoal' });
    expect(byId['P1-field']).toMatchObject({ status: 'MissedGoal', dueAt: '2026-03-02T12:00:00.000Z' });
    expect(fired).toEqual(expect.arrayContaining(['begun#0', 'vip#0', 'half#0', 'soon#0', 'late#0']));
  });

  it('maps tickets to TMF656 problems with the default connector', () => {
    const problem = toServiceProblem({ id: 'T1', priority: 2, state: 'New', title: 'Link down' }, DEFAULT_CONNECTOR);
    expect(problem).toMatchObject({ externalIdentifier: [expect.objectContaining({ id: 'T1' })], priority: 2, description: 'Link down' });
    expect(closingPatch({ id: 'T1', state: 'Resolved', restoredBy: 'ses_group' }, DEFAULT_CONNECTOR, Date.parse('2026-03-02T10:00:00Z'))).toMatchObject({
      status: 'resolved',
      statusChangeReason: 'Restored by ses_group (ticket T1)',
    });
  });
});
