/**
 * The `wavesock` command line: what the arguments mean, checked before
 * anything touches the network, and the `--help` texts.
 *
 * Two commands: `wavesock [options] URI` (a client) and `wavesock serve
 * [options]` (a test server). Options may come before or after the URI,
 * as `--name value` or `--name=value`; `--` ends the options. Anything the
 * parser cannot use is a {@link UsageError} (exit code 2) that names the
 * option, what was given and what is allowed.
 */

/** A command line that cannot be used: the message says why (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** `wavesock [options] ws://host:port/path`: an interactive or piped client. */
export interface ClientCommand {
  kind: "client";
  /** The URI as given (checked by `connect`). */
  uri: string;
  /** Extra request headers, in order, as given to `--header`. */
  headers: [string, string][];
  /** Subprotocols to offer, in order of preference. */
  subprotocols: string[];
  /** Value of the Origin header, or null for none. */
  origin: string | null;
  /** Skip verification of the server's TLS certificate. */
  insecure: boolean;
  /** Offer permessage-deflate (true unless `--no-compression`). */
  compression: boolean;
  /** Keepalive ping interval in ms; null turns keepalive off; undefined keeps the library's default. */
  pingInterval: number | null | undefined;
  /** Piped input: after the last line, close once no message has arrived for this many ms. */
  waitMs: number;
}

/** `wavesock serve`: an echo or broadcast server for tests. */
export interface ServeCommand {
  kind: "serve";
  /** `echo`: every message goes back to its sender; `broadcast`: to every client. */
  mode: "echo" | "broadcast";
  host: string;
  port: number;
  /** Subprotocols the server supports, in order of preference. */
  subprotocols: string[];
  /** Negotiate permessage-deflate (true unless `--no-compression`). */
  compression: boolean;
}

/** What the command line asks for. */
export type Command = ClientCommand | ServeCommand | { kind: "help"; topic: "client" | "serve" } | { kind: "version" };

/** Defaults that the help text and docs/cli.md quote. */
export const DEFAULTS = {
  waitMs: 1000,
  host: "127.0.0.1",
  port: 8765,
} as const;

type Spec = { name: string; short?: string; value: boolean };

const CLIENT_OPTIONS: Spec[] = [
  { name: "header", short: "H", value: true },
  { name: "subprotocol", short: "s", value: true },
  { name: "origin", short: "o", value: true },
  { name: "insecure", short: "k", value: false },
  { name: "no-compression", value: false },
  { name: "ping", value: true },
  { name: "wait", value: true },
  { name: "help", short: "h", value: false },
  { name: "version", short: "V", value: false },
];

const SERVE_OPTIONS: Spec[] = [
  { name: "echo", value: false },
  { name: "broadcast", value: false },
  { name: "host", value: true },
  { name: "port", short: "p", value: true },
  { name: "subprotocol", short: "s", value: true },
  { name: "no-compression", value: false },
  { name: "help", short: "h", value: false },
];

/** Options in the order given, and the positional arguments. */
interface Parsed {
  options: { name: string; value: string | null }[];
  positionals: string[];
}

function tokenize(argv: readonly string[], specs: Spec[], command: string): Parsed {
  const options: Parsed["options"] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | null = null;
    let spec: Spec | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (eq !== -1) inline = arg.slice(eq + 1);
      spec = specs.find((s) => s.name === name);
    } else {
      // A short option: -H value, or -Hvalue.
      name = arg.slice(1, 2);
      if (arg.length > 2) inline = arg.slice(2);
      spec = specs.find((s) => s.short === name);
    }
    if (spec === undefined) {
      throw new UsageError(`unknown option ${arg.startsWith("--") ? `--${name}` : `-${name}`}${command ? ` for ${command}` : ""}`);
    }
    if (!spec.value) {
      if (inline !== null) throw new UsageError(`--${spec.name} takes no value (got ${JSON.stringify(inline)})`);
      options.push({ name: spec.name, value: null });
      continue;
    }
    let value = inline;
    if (value === null) {
      if (i + 1 >= argv.length) throw new UsageError(`--${spec.name} needs a value`);
      value = argv[++i]!;
    }
    options.push({ name: spec.name, value });
  }
  return { options, positionals };
}

/** Header names are RFC 7230 tokens; values carry no CR, LF or NUL (§3.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new UsageError(`--header expects "Name: value", got ${JSON.stringify(text)}`);
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
  if (!TOKEN.test(name)) throw new UsageError(`--header: invalid header name ${JSON.stringify(name)}`);
  if (/[\r\n\0]/.test(value)) throw new UsageError(`--header ${name}: the value may not contain CR, LF or NUL`);
  return [name, value];
}

function parseSubprotocol(text: string): string {
  if (!TOKEN.test(text)) throw new UsageError(`--subprotocol: ${JSON.stringify(text)} is not a valid subprotocol name (an HTTP token)`);
  return text;
}

/** A number of seconds ≥ 0 (fractions allowed) → milliseconds; 0 → null (off). */
function parsePing(text: string): number | null {
  const seconds = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(seconds)) throw new UsageError(`--ping expects a number of seconds ≥ 0 (0 turns keepalive off), got ${JSON.stringify(text)}`);
  const ms = Math.round(seconds * 1000);
  if (seconds > 0 && ms === 0) throw new UsageError(`--ping ${text}: below one millisecond`);
  if (ms > 2 ** 31 - 1) throw new UsageError(`--ping ${text}: at most ${Math.floor((2 ** 31 - 1) / 1000)} seconds`);
  return ms === 0 ? null : ms;
}

function parseInteger(option: string, text: string, min: number, max: number, what: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${option} expects ${what} from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * Read the command line (without `node` and the script name). Throws
 * {@link UsageError} for anything that cannot be used.
 */
export function parseArgs(argv: readonly string[]): Command {
  if (argv[0] === "serve") return parseServe(argv.slice(1));
  const { options, positionals } = tokenize(argv, CLIENT_OPTIONS, "");
  if (options.some((o) => o.name === "help")) return { kind: "help", topic: "client" };
  if (options.some((o) => o.name === "version")) return { kind: "version" };
  const command: ClientCommand = {
    kind: "client",
    uri: "",
    headers: [],
    subprotocols: [],
    origin: null,
    insecure: false,
    compression: true,
    pingInterval: undefined,
    waitMs: DEFAULTS.waitMs,
  };
  for (const { name, value } of options) {
    const v = value ?? "";
    switch (name) {
      case "header":
        command.headers.push(parseHeader(v));
        break;
      case "subprotocol":
        command.subprotocols.push(parseSubprotocol(v));
        break;
      case "origin":
        if (/[\r\n\0]/.test(v)) throw new UsageError("--origin may not contain CR, LF or NUL");
        command.origin = v;
        break;
      case "insecure":
        command.insecure = true;
        break;
      case "no-compression":
        command.compression = false;
        break;
      case "ping":
        command.pingInterval = parsePing(v);
        break;
      case "wait":
        command.waitMs = parseInteger("wait", v, 0, 2 ** 31 - 1, "milliseconds");
        break;
    }
  }
  if (positionals.length === 0) throw new UsageError("missing the URI to connect to (ws://host:port/path or wss://...)");
  if (positionals.length > 1) throw new UsageError(`one URI expected, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(" ")}`);
  const uri = positionals[0]!;
  if (!/^wss?:\/\//i.test(uri)) throw new UsageError(`the URI must start with ws:// or wss://, got ${JSON.stringify(uri)}`);
  command.uri = uri;
  return command;
}

function parseServe(argv: readonly string[]): Command {
  const { options, positionals } = tokenize(argv, SERVE_OPTIONS, "serve");
  if (options.some((o) => o.name === "help")) return { kind: "help", topic: "serve" };
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got ${positionals.map((p) => JSON.stringify(p)).join(" ")}`);
  const command: ServeCommand = {
    kind: "serve",
    mode: "echo",
    host: DEFAULTS.host,
    port: DEFAULTS.port,
    subprotocols: [],
    compression: true,
  };
  const modes = new Set<string>();
  for (const { name, value } of options) {
    const v = value ?? "";
    switch (name) {
      case "echo":
      case "broadcast":
        modes.add(name);
        command.mode = name;
        break;
      case "host":
        if (v === "") throw new UsageError("--host needs a host name or address");
        command.host = v;
        break;
      case "port":
        command.port = parseInteger("port", v, 0, 65535, "a port number");
        break;
      case "subprotocol":
        command.subprotocols.push(parseSubprotocol(v));
        break;
      case "no-compression":
        command.compression = false;
        break;
    }
  }
  if (modes.size > 1) throw new UsageError("serve takes one of --echo and --broadcast, not both");
  return command;
}

/** `wavesock --help`. */
export const CLIENT_USAGE = `Usage: wavesock [options] <ws://host:port/path | wss://...>
       wavesock serve [--echo | --broadcast] [options]     (wavesock serve --help)

An interactive WebSocket client. Incoming messages print as "< message"
(binary ones as a hex preview); what you type is sent as a text message.
With stdin not a terminal (echo hi | wavesock ws://...), every line is sent,
replies print one per line, and the connection closes once input has ended
and the server has been quiet for --wait ms.

Options:
  -H, --header "Name: value"  add a request header (repeatable)
  -s, --subprotocol NAME      offer a subprotocol (repeatable, in order of preference)
  -o, --origin ORIGIN         send this Origin header
  -k, --insecure              do not verify the server's TLS certificate (wss://)
      --no-compression        do not offer permessage-deflate
      --ping SECONDS          keepalive ping interval (default 20; 0 turns it off)
      --wait MS               piped input: close after the server was quiet this long (default ${DEFAULTS.waitMs})
  -h, --help                  show this help
  -V, --version               show the version

At the prompt:
  /ping [data]                send a ping, print the round-trip time
  /close [code] [reason]      close the connection (default 1000)
  /quit, Ctrl-D               close with 1000 and exit
  /help                       list the commands
  //text                      send "/text"

Exit codes: 0 normal close (1000/1001); 1 could not connect; 2 usage error;
3 closed with another code; 4 connection lost (1006); 130 Ctrl-C; 143 SIGTERM.
`;

/** `wavesock serve --help`. */
export const SERVE_USAGE = `Usage: wavesock serve [--echo | --broadcast] [options]

A WebSocket server for tests: prints its URL, logs connections, and on
Ctrl-C (or SIGTERM) closes every connection with 1001 and exits with 0.

Options:
      --echo                  send every message back to its sender (the default)
      --broadcast             send every message to every connected client, the sender too
      --host HOST             interface to listen on (default ${DEFAULTS.host})
  -p, --port PORT             port to listen on; 0 picks a free one (default ${DEFAULTS.port})
  -s, --subprotocol NAME      support a subprotocol (repeatable, in order of preference)
      --no-compression        do not negotiate permessage-deflate
  -h, --help                  show this help
`;

/** The `/help` text of the interactive prompt. */
export const PROMPT_HELP = [
  "/ping [data]            send a ping, print the round-trip time",
  "/close [code] [reason]  close the connection (default 1000)",
  "/quit (or Ctrl-D)       close with 1000 and exit",
  "/help                   this list",
  "//text                  send \"/text\"; any other line is sent as a text message",
];
