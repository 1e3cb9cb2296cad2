/**
 * Ticket sources (definitions `sources`): the shipped Zammad and Jira mappings turn those systems'
 * documented webhook bodies into our tickets; a failing mapping rejects one event with the reason;
 * bad mappings are refused at load naming the field; snapshots are ordered by `updatedAt`.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access -- JSON fixtures, checked by expect() */
import fs from 'node:fs';
import path from 'node:path';
import { parseDefinitions } from '../../src/domain/definitions';
import { compileSource, mapSourceEvent, parseInstant, snapshotOrder, SourceMappingError } from '../../src/domain/sources';
import { readDefinitionsFile } from '../../src/infra/files';
import { parseEvents, replay } from '../../src/domain/replay';

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'webhooks', name), 'utf8')) as Record<string, any>;
const shipped = readDefinitionsFile(path.join(__dirname, '..', '..', 'examples', 'definitions.yaml'));
const source = (name: string) => {
  const i = shipped.sources.findIndex((s) => s.name === name);
  return compileSource(shipped.sources[i]!, `sources[${i}]`);
};

describe('the shipped Zammad mapping', () => {
  it("maps Zammad's trigger webhook to a ticket the example targets measure", () => {
    const out = mapSourceEvent(source('zammad'), fixture('zammad-trigger.json'));
    expect(out).toEqual({
      kind: 'ticket',
      ticket: {
        id: 'zammad:10081',
        kind: 'incident',
        title: 'Mail server not reachable from the Luxembourg office',
        state: 'In Progress',
        priority: 1,
        group: 'Service Desk',
        customer: 'Awesome Customer Inc.',
        updatedAt: '2026-11-30T08:14:35.333Z',
      },
    });
  });

  it.each([
    ['new', 'New'],
    ['pending reminder', 'On Hold'],
    ['pending close', 'On Hold'],
    ['closed', 'Closed'],
    ['merged', 'merged'],
  ])('state %s becomes %s', (zammad, ours) => {
    const body = fixture('zammad-trigger.json');
    body.ticket.state = zammad;
    expect(mapSourceEvent(source('zammad'), body)).toMatchObject({ ticket: { state: ours } });
  });

  it('leaves out a field whose expression gives null (no organization)', () => {
    const body = fixture('zammad-trigger.json');
    delete body.ticket.organization;
    const out = mapSourceEvent(source('zammad'), body);
    expect(out.kind === 'ticket' && 'customer' in out.ticket).toBe(false);
  });

  it('ignores a body that is not a ticket event', () => {
    expect(mapSourceEvent(source('zammad'), { ping: true })).toEqual({ kind: 'ignored', reason: 'source zammad: the event does not pass accept' });
  });
});

describe('the shipped Jira Service Management mapping', () => {
  it("maps Jira's issue webhook, with its +0000 dates", () => {
    const out = mapSourceEvent(source('jira'), fixture('jira-issue-updated.json'));
    expect(out).toEqual({
      kind: 'ticket',
      ticket: {
        id: 'jira:SD-121',
        kind: 'Incident',
        title: 'VPN gateway drops every session after 5 minutes',
        state: 'In Progress',
        priority: 1,
        assignee: 'Paul Agent',
        customer: 'SD',
        updatedAt: '2026-11-30T08:37:05.392+0000',
      },
    });
    expect(parseInstant('2026-11-30T08:37:05.392+0000')).toBe(Date.parse('2026-11-30T08:37:05.392Z'));
  });

  it('an unassigned issue has no assignee; Medium is priority 2; Waiting for customer is On Hold', () => {
    const body = fixture('jira-issue-updated.json');
    body.issue.fields.assignee = null;
    body.issue.fields.priority.name = 'Medium';
    body.issue.fields.status.name = 'Waiting for customer';
    const out = mapSourceEvent(source('jira'), body);
    expect(out).toMatchObject({ kind: 'ticket', ticket: { priority: 2, state: 'On Hold' } });
    expect(out.kind === 'ticket' && 'assignee' in out.ticket).toBe(false);
  });

  it('ignores events other than issue created/updated', () => {
    const body = fixture('jira-issue-updated.json');
    body.webhookEvent = 'jira:issue_deleted';
    expect(mapSourceEvent(source('jira'), body).kind).toBe('ignored');
  });

  it('rejects one event whose mapping fails, naming the field, and maps the next', () => {
    const broken = fixture('jira-issue-updated.json');
    delete broken.issue.fields.summary;
    expect(() => mapSourceEvent(source('jira'), broken)).toThrow(SourceMappingError);
    expect(() => mapSourceEvent(source('jira'), broken)).toThrow(/^source jira: fields\.title: /);
    expect(mapSourceEvent(source('jira'), fixture('jira-issue-updated.json')).kind).toBe('ticket');
  });

  it('refuses an id the ticket rules refuse (spaces), naming it', () => {
    const body = fixture('jira-issue-updated.json');
    body.issue.key = 'SD 121';
    expect(() => mapSourceEvent(source('jira'), body)).toThrow('source jira: invalid ticket: id: must not contain spaces');
  });
});

describe('sources in the definitions', () => {
  const base = { serviceTargets: [] };
  it('refuses bad CEL, a missing id, a duplicate name, naming the field', () => {
    expect(() => parseDefinitions({ ...base, sources: [{ name: 'x', fields: { id: 'body.id', state: 'body.(' } }] })).toThrow(
      /^invalid definitions at sources\[0\]\.fields\.state: invalid CEL/,
    );
    expect(() => parseDefinitions({ ...base, sources: [{ name: 'x', fields: { state: 'body.s' } }] })).toThrow(
      /^invalid definitions at sources\[0\]\.fields: required: fields\.id/,
    );
    expect(() =>
      parseDefinitions({
        ...base,
        sources: [
          { name: 'x', fields: { id: 'body.id' } },
          { name: 'x', fields: { id: 'body.id' } },
        ],
      }),
    ).toThrow('invalid definitions at sources[1].name: duplicate source "x"');
    expect(() => parseDefinitions({ ...base, sources: [{ name: 'Bad Name', fields: { id: 'body.id' } }] })).toThrow(/^invalid definitions at sources\[0\]\.name: /);
  });

  it('prefixes ids with the source name unless told otherwise', () => {
    const defs = parseDefinitions({
      ...base,
      sources: [
        { name: 'a', fields: { id: 'body.n' } },
        { name: 'b', idPrefix: '', fields: { id: 'body.n' } },
      ],
    });
    expect(mapSourceEvent(compileSource(defs.sources[0]!, 's'), { n: 7 })).toEqual({ kind: 'ticket', ticket: { id: 'a:7' } });
    expect(mapSourceEvent(compileSource(defs.sources[1]!, 's'), { n: 'X-7' })).toEqual({ kind: 'ticket', ticket: { id: 'X-7' } });
  });
});

describe('snapshot order by updatedAt', () => {
  const t = (updatedAt?: unknown) => ({ id: 'T', ...(updatedAt === undefined ? {} : { updatedAt }) }) as never;
  it('orders instants across offsets and source versions, and leaves the rest unordered', () => {
    expect(snapshotOrder(t('2026-11-30T10:00:00Z'), t('2026-11-30T10:59:00+0100'))).toBe('older');
    expect(snapshotOrder(t('2026-11-30T10:00:00Z'), t('2026-11-30T11:00:00+01:00'))).toBe('same-or-newer');
    expect(snapshotOrder(t(5), t(4))).toBe('older');
    expect(snapshotOrder(t(5), t(6))).toBe('same-or-newer');
    expect(snapshotOrder(t(5), t('2026-11-30T10:00:00Z'))).toBe('unordered');
    expect(snapshotOrder(t(), t(3))).toBe('unordered');
    expect(snapshotOrder(null, t(3))).toBe('unordered');
    expect(snapshotOrder(t('yesterday'), t('2026-11-30T10:00:00Z'))).toBe('unordered');
  });
});

describe('slm replay orders snapshots as the workflow does', () => {
  it('ignores a line older than the snapshot applied (its updatedAt)', () => {
    const defs = {
      serviceTargets: [{ id: 'T', appliesTo: 'true', stop: 'ticket.state == "Resolved"', exclude: 'ticket.state == "On Hold"', goal: { duration: '4h' } }],
    };
    const lines = [
      { at: '2026-11-30T09:00:00Z', ticket: { id: 'R1', state: 'New', updatedAt: '2026-11-30T09:00:00Z' } },
      { at: '2026-11-30T09:30:00Z', ticket: { id: 'R1', state: 'On Hold', updatedAt: '2026-11-30T09:30:00Z' } },
      // Delivered late: an older snapshot that would resume the clock.
      { at: '2026-11-30T09:40:00Z', ticket: { id: 'R1', state: 'New', updatedAt: '2026-11-30T09:10:00Z' } },
      { at: '2026-11-30T10:30:00Z', check: 'later' },
    ];
    const out = replay(defs, parseEvents(lines.map((l) => JSON.stringify(l)).join('\n')));
    const last = out[out.length - 1]!;
    expect(last.measurements[0]).toMatchObject({ status: 'Pending', elapsedSeconds: 1800 });
  });
});
