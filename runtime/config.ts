// Broker configuration: the defaults of runtime/options.ts, then a config file (JSON, the
// options' camelCase names), then flags. Everything is checked against the one declaration of
// options, and any mistake is one line naming the option and what it expects.
import * as v from "valibot";
import { camelCase, kebabCase, nearest } from "./option-kinds.ts";
import { type BrokerConfig, DEFAULT_DELAY_LEVELS, META_FLAGS, type Option, type OptionKey, OPTIONS, SECTIONS } from "./options.ts";

export type { BrokerConfig } from "./options.ts";
export { DEFAULT_DELAY_LEVELS };

/** A mistake in flags or the config file: its message is the whole one-line error. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

interface Entry {
  key: OptionKey;
  flag: string;
  /** The name in a config file: the camelCase of the flag. */
  fileKey: string;
  option: Option<unknown>;
}

const ENTRIES: Entry[] = (Object.entries(OPTIONS) as [OptionKey, Option<unknown>][]).map(([key, option]) => {
  const flag = option.flag ?? kebabCase(key);
  return { key, flag, fileKey: camelCase(flag), option };
});
const BY_FLAG = new Map(ENTRIES.map((e) => [e.flag, e]));
const BY_FILE_KEY = new Map(ENTRIES.map((e) => [e.fileKey, e]));
const META = new Map<string, (typeof META_FLAGS)[number]>(META_FLAGS.flatMap((m) => [[m.flag, m], ...("short" in m ? [[m.short, m] as const] : [])]));

export const defaults: BrokerConfig = Object.fromEntries(ENTRIES.map((e) => [e.key, e.option.default])) as BrokerConfig;

export type CommandLine = { kind: "help" } | { kind: "version" } | { kind: "run"; config: BrokerConfig };

/**
 * Reads flags (`--name value`, `--name=value`; a boolean option also bare or as `--no-name`),
 * the config file they name, and checks every value and how they fit together.
 * Throws a ConfigError with a one-line message.
 */
export function parseCommandLine(argv: readonly string[], readText: (path: string) => string): CommandLine {
  const fromFlags = new Map<Entry, string>();
  let configPath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^(?:--([a-zA-Z0-9][a-zA-Z0-9-]*)|-([a-zA-Z]))(?:=([\s\S]*))?$/.exec(arg);
    if (!m) throw new ConfigError(`unexpected argument "${arg}" (options start with --; --help lists them)`);
    const name = m[1] ?? m[2];
    let value: string | undefined = m[3];
    const meta = META.get(name);
    if (meta) {
      if (meta.flag === "help") return { kind: "help" };
      if (meta.flag === "version") return { kind: "version" };
      value ??= argv[++i];
      if (value === undefined) throw new ConfigError(`--config needs a file name`);
      configPath = value;
      continue;
    }
    let entry = BY_FLAG.get(name);
    if (!entry && name.startsWith("no-") && BY_FLAG.get(name.slice(3))?.option.boolean && value === undefined) {
      entry = BY_FLAG.get(name.slice(3))!;
      value = "false";
    }
    if (!entry) throw new ConfigError(`unknown option --${name}${didYouMean(name, [...BY_FLAG.keys(), ...META_FLAGS.map((f) => f.flag)], "--")}`);
    if (value === undefined) {
      const next = argv[i + 1];
      if (entry.option.boolean) value = next === "true" || next === "false" ? argv[++i] : "true";
      else if (next === undefined || (/^--?[a-zA-Z]/.test(next) && !/^-\d/.test(next))) throw new ConfigError(`--${entry.flag} needs a value: ${entry.option.expected}`);
      else value = argv[++i];
    }
    fromFlags.set(entry, value);
  }

  const config: Record<string, unknown> = { ...defaults };
  const fromFile = configPath === undefined ? {} : readConfigFile(configPath, readText);
  Object.assign(config, fromFile);
  for (const [entry, text] of fromFlags) config[entry.key] = check(entry, text, `--${entry.flag}`);
  // The gRPC endpoint's 8081 is a standalone broker's default; a cluster role serves it only when asked.
  if (config.role !== "standalone" && !("grpcPort" in fromFile) && ![...fromFlags.keys()].some((e) => e.key === "grpcPort")) config.grpcPort = 0;
  return { kind: "run", config: checkTogether(config as BrokerConfig) };
}

/** parseCommandLine for callers that only run: null when --help or --version was asked for. */
export function parseConfig(argv: readonly string[], readText: (path: string) => string): BrokerConfig | null {
  const r = parseCommandLine(argv, readText);
  return r.kind === "run" ? r.config : null;
}

function readConfigFile(path: string, readText: (path: string) => string): Partial<BrokerConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(readText(path));
  } catch (e) {
    const why = e instanceof SyntaxError ? `not valid JSON (${e.message})` : `cannot be read (${(e as { code?: string }).code ?? (e as Error).message})`;
    throw new ConfigError(`config file ${path}: ${why}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(`config file ${path}: expected a JSON object of options, like {"port": 9876}`);
  const out: Record<string, unknown> = {};
  for (const [fileKey, value] of Object.entries(raw)) {
    const entry = BY_FILE_KEY.get(fileKey);
    if (!entry) throw new ConfigError(`config file ${path}: unknown key "${fileKey}"${fileKeyHint(fileKey)}`);
    out[entry.key] = check(entry, value, `"${fileKey}" in ${path}`);
  }
  return out as Partial<BrokerConfig>;
}

function check(entry: Entry, value: unknown, where: string): unknown {
  const r = v.safeParse(entry.option.schema, value);
  if (r.success) return r.output;
  throw new ConfigError(`${where}: expected ${entry.option.expected}, got ${JSON.stringify(value)}`);
}

/** Rules between options, checked once every value is in. */
function checkTogether(c: BrokerConfig): BrokerConfig {
  if (c.role === "broker" && c.namesrvAddrs.length === 0) throw new ConfigError("--role broker needs --namesrv host:port[,host:port]");
  if (c.controllerAddrs.length > 0 && c.role !== "broker") throw new ConfigError("--controller needs --role broker (a replicated group's brokers register with --namesrv)");
  if (c.brokerId > 0 && c.controllerAddrs.length === 0) throw new ConfigError("--broker-id needs --controller host:port[,host:port]: a group's roles come from its controllers");
  if (!c.tlsCert !== !c.tlsKey) throw new ConfigError("--tls-cert and --tls-key go together");
  if (c.tlsCa && !c.tlsCert) throw new ConfigError("--tls-ca (client certificates) needs --tls-cert and --tls-key");
  if (c.auth === "on" && !c.aclFile) throw new ConfigError("--auth on needs --acl-file <file>: the users and what each may do");
  return c;
}

function didYouMean(name: string, known: string[], prefix: string): string {
  const near = nearest(name, known);
  return near ? ` (did you mean ${prefix}${near}?)` : " (--help lists the options)";
}

function fileKeyHint(key: string): string {
  // A flag's spelling, or an internal field name (flushIntervalMs): the exact key it meant.
  const byFlag = BY_FLAG.get(key) ?? ENTRIES.find((e) => e.key === key);
  if (byFlag) return ` (did you mean "${byFlag.fileKey}"?)`;
  const near = nearest(key, BY_FILE_KEY.keys());
  return near ? ` (did you mean "${near}"?)` : " (keys are the flags' names in camelCase: --flush-interval is flushInterval)";
}

/**
 * Parses RocketMQ's messageDelayLevel syntax, "1s 5s 10s 30s 1m ... 2h", into ms per level.
 * Units: ms, s, m, h, d. Throws a ConfigError saying what was expected.
 */
export function parseDelayLevels(text: string, name = "delay levels"): number[] {
  const r = v.safeParse(OPTIONS.delayLevels.schema, text);
  if (!r.success) throw new ConfigError(`${name}: expected ${OPTIONS.delayLevels.expected}, got ${JSON.stringify(text)}`);
  return r.output;
}

// ------------------------------------------------------------------ --help and the README

const WIDTH = 100;

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

function flagCell(e: Entry): string {
  return `--${e.flag} ${e.option.arg}`;
}

/** --help: every option by section, with its default. */
export function usage(): string {
  const col = 34;
  const out = [
    "Usage: npm start -- [options]   (or: deno task start [options])",
    "",
    wrap("Every option can also be set in a JSON config file (--config) under its camelCase name: --flush-interval is \"flushInterval\". Flags win over the file. Durations take ms, s, m, h or d (a bare number is in the unit shown); sizes take k, m, g or t.", WIDTH, ""),
  ];
  const row = (left: string, doc: string) => {
    const pad = left.length >= col - 2 ? `\n${" ".repeat(col)}` : " ".repeat(col - left.length);
    out.push(`${left}${pad}${wrap(doc, WIDTH - col, " ".repeat(col))}`);
  };
  for (const section of SECTIONS) {
    out.push("", `${section}:`);
    for (const e of ENTRIES.filter((x) => x.option.section === section)) {
      row(`  ${flagCell(e)}`, `${e.option.doc} (default ${e.option.show(e.option.default)})`);
    }
  }
  out.push("", "Other:");
  for (const m of META_FLAGS) row(`  ${"short" in m ? `-${m.short}, ` : ""}--${m.flag}${m.arg ? ` ${m.arg}` : ""}`, m.doc);
  return out.join("\n") + "\n";
}

/** The README's options table (tests/config.test.ts checks the README holds exactly this). */
export function optionsMarkdown(): string {
  const out = ["| flag | config key | default | what |", "|---|---|---|---|"];
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  for (const section of SECTIONS) {
    out.push(`| **${section}** | | | |`);
    for (const e of ENTRIES.filter((x) => x.option.section === section)) {
      out.push(`| \`${cell(flagCell(e))}\` | \`${e.fileKey}\` | \`${cell(e.option.show(e.option.default))}\` | ${cell(e.option.doc)} |`);
    }
  }
  for (const m of META_FLAGS) out.push(`| \`--${m.flag}${m.arg ? ` ${m.arg}` : ""}\`${"short" in m ? `, \`-${m.short}\`` : ""} | | | ${cell(m.doc)} |`);
  return out.join("\n") + "\n";
}
