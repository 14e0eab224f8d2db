// All configuration is read here, once, at start-up, from the environment (12-factor). Anything missing
// or malformed stops the process with a message naming the variable: better to fail at deploy time than
// at 3 a.m. on the first request that needs it.

export interface Config {
  port: number;
  appName: string;
  greeting: string;
  /** Secret: used, never shown. */
  signingSecret: string;
  features: { reports: boolean };
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const errors: string[] = [];

  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value.trim() === '') {
      errors.push(`${name} is required but is not set`);
      return '';
    }
    return value;
  };

  const optional = (name: string, fallback: string): string => {
    const value = env[name];
    return value === undefined || value === '' ? fallback : value;
  };

  const flag = (name: string): boolean => {
    const value = env[name];
    if (value === undefined || value === '' || value === 'false') return false;
    if (value === 'true') return true;
    errors.push(`${name} must be "true" or "false", got ${JSON.stringify(value)}`);
    return false;
  };

  const port = Number(optional('PORT', '3000'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) errors.push(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`);

  const config: Config = {
    port,
    appName: required('APP_NAME'),
    greeting: optional('GREETING', 'Hello'),
    signingSecret: required('SIGNING_SECRET'),
    features: { reports: flag('FEATURE_REPORTS') },
  };

  if (errors.length > 0) {
    // Name the variables, never print their values (one of them may be a secret).
    console.error(`Invalid configuration:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
    process.exit(1);
  }
  return config;
}
