/** The CLI's settings from the environment (API.md section 5); `--url` and `--api-key` override them. */
export interface CliEnv {
  url?: string;
  apiKey?: string;
}

/** Reads ASSET_BFF_URL and ASSET_BFF_API_KEY: the one place the CLI looks at the environment. */
export function cliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  return { url: env.ASSET_BFF_URL || undefined, apiKey: env.ASSET_BFF_API_KEY || undefined };
}
