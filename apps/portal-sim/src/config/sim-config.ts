/** The three data profiles of the simulator. */
export type SimProfile = 'test' | 'demo' | 'large';

/** Simulator configuration, parsed once from the environment and the command line. */
export interface SimConfig {
  port: number;
  host: string;
  profile: SimProfile;
  seed: number;
  dataFile?: string;
  appKey: string;
  appSecret: string;
  accessKey: string;
  appTokenTtlS: number;
  userTokenTtlS: number;
  userPassword: string;
  /** Size overrides of the generated profiles (demo/large; test is fixed). */
  sizes: { orgs?: number; users?: number; assets?: number };
}

export const SIM_CONFIG = Symbol('SIM_CONFIG');

const PROFILES: readonly SimProfile[] = ['test', 'demo', 'large'];

/** CLI flags accepted as aliases of the environment variables (`--profile large --port 4011`). */
const FLAG_TO_ENV: Record<string, string> = {
  port: 'SIM_PORT',
  host: 'SIM_HOST',
  profile: 'SIM_PROFILE',
  seed: 'SIM_SEED',
  'data-file': 'SIM_DATA_FILE',
  orgs: 'SIM_ORGS',
  users: 'SIM_USERS',
  assets: 'SIM_ASSETS',
};

function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !FLAG_TO_ENV[m[1]]) continue;
    const value = m[2] ?? argv[++i];
    if (value !== undefined) out[FLAG_TO_ENV[m[1]]] = value;
  }
  return out;
}

function int(env: Record<string, string | undefined>, name: string, def: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

function optInt(env: Record<string, string | undefined>, name: string): number | undefined {
  return env[name] === undefined || env[name] === '' ? undefined : int(env, name, 0, 0);
}

/** Reads the configuration; the only place of the simulator that looks at `process.env` and `argv`. */
export function loadSimConfig(env: Record<string, string | undefined> = process.env, argv: readonly string[] = process.argv.slice(2)): SimConfig {
  const e = { ...env, ...flagsToEnv(argv) };
  const profile = (e.SIM_PROFILE || 'demo') as SimProfile;
  if (!PROFILES.includes(profile)) throw new Error(`SIM_PROFILE must be one of ${PROFILES.join(', ')}, got "${profile}"`);
  return {
    port: int(e, 'SIM_PORT', 4010),
    host: e.SIM_HOST || '127.0.0.1',
    profile,
    seed: int(e, 'SIM_SEED', 42),
    dataFile: e.SIM_DATA_FILE || undefined,
    appKey: e.SIM_APP_KEY || 'demo-app-key',
    appSecret: e.SIM_APP_SECRET || 'demo-app-secret',
    accessKey: e.SIM_ACCESS_KEY || 'demo-access-key',
    appTokenTtlS: int(e, 'SIM_APP_TOKEN_TTL_S', 7200, 1),
    userTokenTtlS: int(e, 'SIM_USER_TOKEN_TTL_S', 3600, 1),
    userPassword: e.SIM_USER_PASSWORD || 'demo-password',
    sizes: { orgs: optInt(e, 'SIM_ORGS'), users: optInt(e, 'SIM_USERS'), assets: optInt(e, 'SIM_ASSETS') },
  };
}
