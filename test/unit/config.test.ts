import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';

describe('configuration', () => {
  it('has working defaults for embedded mode', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ TMF_MAX_CONCURRENT: 5, EMULATOR_PORT: 8480, SNOW_HTTP_TIMEOUT: 30, SNOW_PROBLEM_PATH: 'gstm/dataminer/tmf/api/v1/tmf656/' });
    expect(c.TEMPORAL_ADDRESS).toBeUndefined();
  });

  it('refuses the settings that moved to the definitions, naming where they went, unless set to the old default', () => {
    expect(() => loadConfig({ SNOW_ACTIVE_STATES: 'New,Assigned' })).toThrow(
      /^invalid configuration: SNOW_ACTIVE_STATES: moved to the definitions file: set connector\.activeStates there/,
    );
    expect(() => loadConfig({ SNOW_EVENT_FIELD: 'router' })).toThrow(/SNOW_EVENT_FIELD: moved to the definitions file: set connector\.eventField there/);
    expect(() => loadConfig({ SLM_REOPEN_WINDOW: '3d' })).toThrow(/SLM_REOPEN_WINDOW: moved to the definitions file: set engine\.reopenWindow there/);
    // A copied .env.example (the old defaults) changes nothing and starts.
    expect(() => loadConfig({ SNOW_ACTIVE_STATES: 'New, Assigned, In Progress, On Hold', SNOW_EVENT_FIELD: 'deviceIp', SLM_REOPEN_WINDOW: '30d' })).not.toThrow();
  });

  it('reads SLM_STICKY_TIMEOUT as a duration (default 60 s)', () => {
    expect(loadConfig({}).SLM_STICKY_TIMEOUT).toBe(60);
    expect(loadConfig({ SLM_STICKY_TIMEOUT: '2m' }).SLM_STICKY_TIMEOUT).toBe(120);
    expect(() => loadConfig({ SLM_STICKY_TIMEOUT: 'soon' })).toThrow(/^invalid configuration: SLM_STICKY_TIMEOUT: /);
  });

  it.each([
    ['TMF_MAX_CONCURRENT', 'five'],
    ['EMULATOR_PORT', '70000'],
    ['SNOW_HTTP_TIMEOUT', 'a while'],
    ['TEMPORAL_ADDRESS', 'localhost'],
    ['EMULATOR_START', 'maybe'],
  ])('stops on a bad %s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration: ${name}: `));
  });

  it('reads the SNOW password from a secret file, and names the file when it cannot', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slm-secret-'));
    const file = path.join(dir, 'snow-password');
    fs.writeFileSync(file, 'from-a-file\n');
    expect(loadConfig({ SNOW_PASSWORD: 'from-env', SNOW_PASSWORD_FILE: file }).SNOW_PASSWORD).toBe('from-a-file');
    expect(() => loadConfig({ SNOW_PASSWORD_FILE: path.join(dir, 'missing') })).toThrow(/^invalid configuration: SNOW_PASSWORD_FILE: cannot read .*missing \(ENOENT\)$/);
    fs.rmSync(dir, { recursive: true });
  });

  it('parses booleans strictly (no Boolean("false") === true)', () => {
    expect(loadConfig({ EMULATOR_START: 'false' }).EMULATOR_START).toBe(false);
  });

  it('never echoes a secret value in its errors', () => {
    expect(() => loadConfig({ SNOW_PASSWORD: 'hunter2', SNOW_BASE_URL: 'not a url' })).toThrow(/SNOW_BASE_URL/);
    try {
      loadConfig({ SNOW_PASSWORD: 'hunter2', SNOW_BASE_URL: 'not a url' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});
