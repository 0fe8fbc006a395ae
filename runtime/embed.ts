// `actormq/broker`: a broker inside your own program (tests, a desktop app, a single-process
// deployment), on Node or Deno. Its options are a config file's, checked by the same rules.
import { BrokerError, ErrorCode } from "../protocol/mod.ts";
import { Broker } from "./broker.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { loadPlatform } from "../platform/select.ts";

export { Broker };
export type { BrokerConfig } from "./config.ts";

export interface StartBrokerOptions {
  /**
   * Any broker option by its config-file name, the flag in camelCase (`npx actormq --help`
   * lists them): `{ port: 0, dataDir: "./data", flush: "sync", flushInterval: "500ms" }`. The
   * defaults are the command's, except `grpcPort`: none unless given.
   */
  [option: string]: unknown;
  /** Where the broker's log lines go (default: nowhere). */
  log?: (line: string) => void;
}

/**
 * Starts a broker (standalone by default: its own name server, so clients need only its
 * address) and resolves once it listens. `port: 0` picks a free port (`broker.address` says
 * which). Stop it with `await broker.shutdown()`. A bad option rejects with BAD_REQUEST naming it.
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<Broker> {
  const { log, ...given } = options;
  let config;
  try {
    // RocketMQ 5's gRPC endpoint only when asked for: a broker in a program (a test) should not
    // take port 8081 by default.
    config = parseConfig(["--config", "startBroker options"], () => JSON.stringify({ grpcPort: 0, ...given }));
  } catch (e) {
    throw e instanceof ConfigError ? new BrokerError(ErrorCode.BAD_REQUEST, e.message.replace(/^config file /, "")) : e;
  }
  if (!config || config.role === "namesrv") throw new BrokerError(ErrorCode.BAD_REQUEST, `startBroker starts a broker; a name server alone runs with: npx actormq --role namesrv`);
  return Broker.start(await loadPlatform(), config, log);
}
