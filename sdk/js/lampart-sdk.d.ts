// Types of lampart-sdk.js: Lampart plugins (contract `lampart:plugin@0.2.0`) in JavaScript.

/** The contract this SDK is written against. */
export const CONTRACT: 'lampart:plugin@0.2.0';

// ---- The contract's types, as componentize-js hands them over --------------------

/** Which pass through the chain a decision belongs to. */
export type Phase = 'request' | 'response' | 'elevation';
/** How serious a finding is. */
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
/** How important a log line is. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Who is acting. An absent option is `undefined`. */
export interface RawPrincipal {
  agent: string;
  roles: string[];
  session: string;
  task?: string;
}

/** The tool call; `args` is a JSON object, as text. */
export interface RawAction {
  tool: string;
  args: string;
  resource?: string;
}

/** What a tool answered: plain text, or JSON as text. */
export type RawToolOutput = { tag: 'text'; val: string } | { tag: 'json'; val: string };

/** A finding as the contract carries it. */
export interface RawFinding {
  rule: string;
  severity: Severity;
  message: string;
  location?: string;
}

/** The contract's `input` record. */
export interface RawInput {
  id: string;
  phase: Phase;
  principal: RawPrincipal;
  action: RawAction;
  output?: RawToolOutput;
  grants: string[];
  labels: string[];
  findings: RawFinding[];
}

/** The contract's `verdict` variant. */
export type Verdict =
  | { tag: 'allow' }
  | { tag: 'deny'; val: string }
  | { tag: 'require'; val: string[] }
  | { tag: 'abstain' };

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// ---- The host ----------------------------------------------------------------------

/** The host's functions, as `host.js` and `testing.js` install them. */
export interface Host {
  log(level: LogLevel, message: string): void;
  setting(key: string): string | undefined;
  settingKeys(): string[];
}
/** Installs the host's functions (done by `host.js` in a component, `testing.js` in tests). */
export function setHost(host: Host): void;
/** The installed host. */
export function getHost(): Host;

/** Writes one line to the host's log; an `error` line explains a failure. */
export function log(level: LogLevel, message: string): void;
/** `logger.debug(…)`, `logger.info(…)`, `logger.warn(…)`, `logger.error(…)`. */
export const logger: Readonly<Record<LogLevel, (message: string) => void>>;

// ---- JSON pointers and globs -------------------------------------------------------

/** Escapes one reference token (`~` → `~0`, `/` → `~1`). */
export function escapeToken(token: string): string;
/** Appends one reference token to a pointer. */
export function pushToken(pointer: string, token: string): string;
/** Whether `pointer` is a valid JSON pointer (`""` included). */
export function isPointer(pointer: string): boolean;
/**
 * The value at `pointer`, or `undefined`. A token of digits only indexes an array and
 * never names an object member; inherited properties are never found.
 */
export function lookup(value: Json, pointer: string): Json | undefined;
/** Every string in a JSON value as `[pointer, text]`, depth first, members sorted by key. */
export function jsonStrings(value: Json): Generator<[string, string], void, undefined>;
/** Whether `text` matches the glob `pattern` (`*` any run, `?` one character). */
export function globMatches(pattern: string, text: string): boolean;
/** Whether `text` matches any of `patterns`. */
export function globMatchesAny(patterns: readonly string[], text: string): boolean;

/** The phases, in the contract's order. */
export const PHASES: readonly Phase[];
/** The severities, least serious first. */
export const SEVERITIES: readonly Severity[];
/** Negative when `a` is less serious than `b`, 0 when equal, positive otherwise. */
export function compareSeverity(a: Severity, b: Severity): number;

// ---- Building answers --------------------------------------------------------------

/** Something a plugin noticed. */
export class Finding implements RawFinding {
  constructor(rule: string, severity: Severity, message: string, location?: string);
  rule: string;
  severity: Severity;
  message: string;
  location?: string;
  static info(rule: string, message: string): Finding;
  static low(rule: string, message: string): Finding;
  static medium(rule: string, message: string): Finding;
  static high(rule: string, message: string): Finding;
  static critical(rule: string, message: string): Finding;
  /** Sets the location: a JSON pointer into the arguments or the output. */
  at(pointer: string): this;
}
/** `finding(rule, severity, message)`. */
export function finding(rule: string, severity: Severity, message: string): Finding;

/** A policy's answer. */
export class Decision {
  verdict: Verdict;
  findings: Finding[];
  labels: string[];
  withFinding(finding: Finding | RawFinding): this;
  withFindings(findings: Iterable<Finding | RawFinding>): this;
  withLabel(label: string): this;
  withLabels(labels: Iterable<string>): this;
  readonly kind: Verdict['tag'];
  readonly isAllow: boolean;
  readonly isAbstain: boolean;
  readonly denyReason: string | undefined;
  readonly requiredScopes: string[] | undefined;
}
export function allow(): Decision;
export function deny(reason: string): Decision;
export function require(scopes: Iterable<string>): Decision;
export function abstain(): Decision;

/** A change an inspector asks for in what is passed on. */
export class Redaction {
  constructor(location: string, find: string | undefined, replacement: string);
  location: string;
  find?: string;
  replacement: string;
  /** Replace the whole string at `location` (`""`: a plain-text output). */
  static whole(location: string, replacement: string): Redaction;
  /** Replace every occurrence of `find` within the string at `location`. */
  static text(location: string, find: string, replacement: string): Redaction;
}

/** What an inspector returns. */
export class Inspection {
  findings: Finding[];
  labels: string[];
  redactions: Redaction[];
  withFinding(finding: Finding | RawFinding): this;
  withFindings(findings: Iterable<Finding | RawFinding>): this;
  /** Adds a label unless it is there already. */
  withLabel(label: string): this;
  withLabels(labels: Iterable<string>): this;
  withRedaction(redaction: Redaction): this;
  withRedactions(redactions: Iterable<Redaction>): this;
  readonly isEmpty: boolean;
  readonly maxSeverity: Severity | undefined;
}
export function inspection(): Inspection;

export interface InfoOptions {
  /** Default `['request']`. */
  phases?: Iterable<Phase>;
  /** Tool-name globs; default `['*']`. */
  tools?: Iterable<string>;
}
/** What a plugin says about itself. */
export class Info {
  constructor(name: string, version: string, options?: InfoOptions);
  name: string;
  version: string;
  phases: Phase[];
  tools: string[];
}
export function info(name: string, version: string, options?: InfoOptions): Info;

// ---- Settings ----------------------------------------------------------------------

/** A setting that is unknown, missing when required, or unusable: ``setting `key`: problem``. */
export class SettingError extends Error {
  constructor(key: string, problem: string);
  readonly name: 'SettingError';
  key: string;
  problem: string;
}
/** Parses a raw setting: JSON, or the text itself when it does not look like JSON. */
export function parseSetting(key: string, raw: string | undefined): Json | undefined;
/** The text the host hands a plugin for a config value: strings as they are, the rest as JSON. */
export function settingText(value: Json): string;

export interface SettingsSource {
  get(key: string): string | undefined;
  keys(): Iterable<string>;
}
/** A step's settings; the typed readers throw `SettingError` when a value does not fit. */
export class Settings {
  constructor(source: SettingsSource);
  get(key: string): string | undefined;
  keys(): string[];
  has(key: string): boolean;
  /** Throws `SettingError` for the first key not in `known`. */
  checkKeys(known: readonly string[]): this;
  json(key: string): Json | undefined;
  json<T extends Json>(key: string, fallback: T): Json;
  string(key: string): string | undefined;
  string(key: string, fallback: string): string;
  number(key: string): number | undefined;
  number(key: string, fallback: number): number;
  integer(key: string): number | undefined;
  integer(key: string, fallback: number): number;
  boolean(key: string): boolean | undefined;
  boolean(key: string, fallback: boolean): boolean;
  strings(key: string): string[] | undefined;
  strings(key: string, fallback: string[]): string[];
}
/** The step's settings, from the host. */
export const settings: Settings;
/** Settings from an object whose values are written as in the chain config. */
export function mapSettings(values?: Record<string, Json>): Settings;

// ---- The input ---------------------------------------------------------------------

/** One decision's input, arguments (and a JSON answer) parsed once, on first use. */
export class Input {
  constructor(raw: RawInput);
  static builder(tool: string): InputBuilder;
  readonly raw: RawInput;
  readonly id: string;
  readonly phase: Phase;
  readonly principal: RawPrincipal;
  readonly agent: string;
  readonly roles: string[];
  hasRole(role: string): boolean;
  readonly session: string;
  readonly task: string | undefined;
  readonly action: RawAction;
  readonly tool: string;
  toolMatches(pattern: string): boolean;
  readonly resource: string | undefined;
  /** The arguments as sent (JSON text). */
  readonly argsText: string;
  /** The arguments, parsed; `null` when not valid JSON (see `argsError`). */
  readonly args: Json;
  readonly argsError: string | undefined;
  arg(pointer: string): Json | undefined;
  argString(pointer: string): string | undefined;
  argNumber(pointer: string): number | undefined;
  argInteger(pointer: string): number | undefined;
  argBoolean(pointer: string): boolean | undefined;
  argStrings(): Generator<[string, string], void, undefined>;
  readonly output: RawToolOutput | undefined;
  readonly outputText: string | undefined;
  readonly outputJson: Json | undefined;
  outputStrings(): Generator<[string, string], void, undefined>;
  /** The output's strings in the response phase, the arguments' otherwise. */
  strings(): Generator<[string, string], void, undefined>;
  readonly grants: string[];
  hasGrant(scope: string): boolean;
  readonly labels: string[];
  hasLabel(label: string): boolean;
  readonly findings: RawFinding[];
}

/** Builds an `Input` for tests. */
export class InputBuilder {
  constructor(tool: string);
  args(value: { [key: string]: Json }): this;
  argsText(text: string): this;
  id(id: string): this;
  phase(phase: Phase): this;
  agent(agent: string): this;
  roles(roles: Iterable<string>): this;
  session(session: string): this;
  task(task: string): this;
  resource(resource: string): this;
  outputText(text: string): this;
  outputJson(value: Json): this;
  grants(grants: Iterable<string>): this;
  labels(labels: Iterable<string>): this;
  finding(finding: Finding | RawFinding): this;
  buildRaw(): RawInput;
  build(): Input;
}

// ---- Exports -----------------------------------------------------------------------

/** One line for an exception: `Name: message | at fn (file:line:col) | …`. */
export function describeError(err: unknown): string;

export interface PolicyExports {
  describe(): Info;
  evaluate(input: RawInput | Input): Decision;
}
export interface InspectorExports {
  describe(): Info;
  inspect(input: RawInput | Input): Inspection;
}
type Describe = (() => Info | { name: string; version: string; phases?: Phase[]; tools?: string[] }) | Info;

/** The exports of world `policy`; exceptions are logged at `error` and thrown again. */
export function policy(plugin: {
  evaluate: (input: Input) => Decision | { verdict: Verdict; findings?: RawFinding[]; labels?: string[] };
  describe: Describe;
}): Readonly<PolicyExports>;
/** The exports of world `inspector`; exceptions are logged at `error` and thrown again. */
export function inspector(plugin: {
  inspect: (input: Input) => Inspection | { findings?: RawFinding[]; labels?: string[]; redactions?: Redaction[] };
  describe: Describe;
}): Readonly<InspectorExports>;
