import { loadSimConfig } from './sim-config';

describe('loadSimConfig', () => {
  it('has the documented defaults', () => {
    expect(loadSimConfig({}, [])).toMatchObject({
      port: 4010,
      host: '127.0.0.1',
      profile: 'demo',
      seed: 42,
      appKey: 'demo-app-key',
      appSecret: 'demo-app-secret',
      accessKey: 'demo-access-key',
      appTokenTtlS: 7200,
      userTokenTtlS: 3600,
      userPassword: 'demo-password',
    });
  });

  it('CLI flags override the environment', () => {
    const c = loadSimConfig({ SIM_PROFILE: 'test', SIM_PORT: '1' }, ['--profile', 'large', '--port=4011', '--users', '10']);
    expect(c).toMatchObject({ profile: 'large', port: 4011, sizes: { users: 10 } });
  });

  it('rejects a bad profile or number', () => {
    expect(() => loadSimConfig({ SIM_PROFILE: 'huge' }, [])).toThrow(/SIM_PROFILE/);
    expect(() => loadSimConfig({ SIM_PORT: 'abc' }, [])).toThrow(/SIM_PORT/);
  });
});
