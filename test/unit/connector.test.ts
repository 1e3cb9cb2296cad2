/** The connector's configurable rules: mapping, closure with its note, event problems, remote reactions. */
import { closes, compileConnector, connectorSchema, DEFAULT_CONNECTOR, eventDevice, remoteReaction } from '../../src/domain/snow/connector';
import { parseDefinitions } from '../../src/domain/definitions';
import { closingPatch, toServiceProblem } from '../../src/domain/snow/serviceProblem';

const connector = (raw: unknown) => compileConnector(connectorSchema().parse(raw));

describe('field mapping', () => {
  it('maps by the seed defaults: category, priority 1–10, description, reason, characteristics for the rest', () => {
    const body = toServiceProblem({ id: 'T1', state: 'In Progress', priority: 2, category: 'network', title: 'Link down', deviceIp: '10.0.0.1' });
    expect(body).toMatchObject({
      category: 'network',
      priority: 2,
      description: 'Link down',
      reason: 'In Progress',
      status: 'inProgress',
      originatorParty: { id: 'temporal-slm', role: 'originator' },
      externalIdentifier: [{ id: 'T1', owner: 'temporal-slm', externalIdentifierType: 'ticket' }],
      characteristic: [{ name: 'deviceIp', value: '10.0.0.1' }],
    });
    expect(toServiceProblem({ id: 'T2' })).toMatchObject({ category: 'incident', priority: 5, description: 'Ticket T2', reason: 'New' });
  });

  it('takes CEL expressions per field, clamps the priority and lists the characteristics asked for', () => {
    const c = connector({
      mapping: {
        category: '"service-" + ticket.service',
        priority: 'ticket.severity * 3.0', // ticket numbers are CEL doubles
        description: 'ticket.summary',
        originator: '"dataminer"',
        characteristics: ['site', 'missing'],
      },
    });
    const body = toServiceProblem({ id: 'T1', service: 'voice', severity: 4, summary: 'No dial tone', site: 'LUX-1', other: 1 }, c);
    expect(body).toMatchObject({
      category: 'service-voice',
      priority: 10,
      description: 'No dial tone',
      originatorParty: { id: 'dataminer' },
      characteristic: [{ name: 'site', value: 'LUX-1' }],
    });
    // An expression that fails (a missing field) falls back to the default of that field.
    expect(toServiceProblem({ id: 'T2', severity: 1 }, c)).toMatchObject({ category: 'incident', priority: 3, description: 'Ticket T2' });
  });

  it('rejects a bad mapping expression naming the field', () => {
    expect(() => parseDefinitions({ connector: { mapping: { priority: 'ticket.priority *' } } })).toThrow(/^invalid definitions at connector\.mapping\.priority: invalid CEL/);
    expect(() => parseDefinitions({ connector: { mapping: { colour: 'x' } } })).toThrow(/connector\.mapping/);
  });
});

describe('closure, events and remote changes', () => {
  it('closes on the seed condition with a resolution note in TMF656 fields', () => {
    expect(closes(DEFAULT_CONNECTOR, { id: 'T1', restoredBy: 'ses_group' })).toBe(true);
    expect(closes(DEFAULT_CONNECTOR, { id: 'T1', restoredBy: 'noc' })).toBe(false);
    expect(closes(DEFAULT_CONNECTOR, { id: 'T1' })).toBe(false);
    const at = Date.parse('2026-03-02T10:00:00Z');
    expect(closingPatch({ id: 'T1', restoredBy: 'ses_group' }, DEFAULT_CONNECTOR, at)).toEqual({
      status: 'resolved',
      statusChangeReason: 'Restored by ses_group (ticket T1)',
      statusChangeDate: '2026-03-02T10:00:00.000Z',
      resolutionDate: '2026-03-02T10:00:00.000Z',
      note: [{ text: 'Restored by ses_group (ticket T1)', author: 'temporal-slm', date: '2026-03-02T10:00:00.000Z' }],
    });
    const custom = connector({ closeWhen: 'ticket.state == "Restored"', resolutionNote: '"Fixed: " + ticket.fix' });
    expect(closes(custom, { id: 'T1', state: 'Restored' })).toBe(true);
    expect(closingPatch({ id: 'T1', state: 'Restored', fix: 'rebooted' }, custom, at).statusChangeReason).toBe('Fixed: rebooted');
  });

  it('finds the device of an event problem by the seed rule or by CEL over previous and ticket', () => {
    expect(eventDevice(DEFAULT_CONNECTOR, { id: 'T1', deviceIp: '10.0.0.1' }, { id: 'T1', deviceIp: '' }, 'deviceIp')).toBe('10.0.0.1');
    expect(eventDevice(DEFAULT_CONNECTOR, { id: 'T1', deviceIp: '10.0.0.1' }, { id: 'T1', deviceIp: '10.0.0.1' }, 'deviceIp')).toBeNull();
    expect(eventDevice(DEFAULT_CONNECTOR, null, { id: 'T1' }, 'deviceIp')).toBeNull();
    const custom = connector({ eventWhen: 'previous.link == "up" && ticket.link == "down"', eventDevice: 'ticket.router' });
    expect(eventDevice(custom, { id: 'T1', link: 'up' }, { id: 'T1', link: 'down', router: 'r7' }, 'deviceIp')).toBe('r7');
    expect(eventDevice(custom, { id: 'T1', link: 'down' }, { id: 'T1', link: 'down', router: 'r7' }, 'deviceIp')).toBeNull();
  });

  it('reacts to SNOW-side changes with the configured fields', () => {
    const c = connector({
      onRemoteChange: [
        { when: 'problem.status == "resolved"', setField: { closureRequested: true } },
        { when: 'problem.incidentNumber != ""', setField: { incident: 'known' } },
      ],
    });
    expect(remoteReaction(c, { id: 'T1' }, { status: 'resolved', incidentNumber: 'PRB1' })).toEqual({ closureRequested: true, incident: 'known' });
    expect(remoteReaction(c, { id: 'T1' }, { status: 'inProgress', incidentNumber: '' })).toBeNull();
  });
});
