// Write Lampart plugins in JavaScript.
//
// A plugin is a WebAssembly component that exports one of the two worlds of the
// contract `lampart:plugin@0.2.0` (`wit/plugin.wit`): a policy decides on an agent's
// tool call (allow, deny, require scopes, abstain), an inspector reports findings,
// labels and redactions. With this module a plugin is one function:
//
//   // payments.js
//   import { policy, info, allow, deny, require } from './lampart/lampart-sdk.js';
//
//   export function evaluate(input) {
//     const amount = input.argNumber('/amount');
//     if (amount === undefined) return deny('`amount` must be a number');
//     return amount > 1000 ? require(['payments:large']) : allow();
//   }
//
//   export default policy({ evaluate, describe: info('payments', '0.1.0', { tools: ['send_money'] }) });
//
//   // component.js, the entry given to componentize-js
//   import './lampart/host.js';
//   import plugin from './payments.js';
//   export const { describe, evaluate } = plugin;
//
// The module has no dependencies and no imports: the host's functions (`log`,
// `setting`, `setting-keys`) reach it through `setHost`, which `host.js` calls in a
// component and `testing.js` calls in unit tests under `node --test`.
//
// See README.md beside this file for the guide.

/** The contract this SDK is written against. */
export const CONTRACT = 'lampart:plugin@0.2.0';

// ---------------------------------------------------------------------------------
// The host

const NO_HOST = {
  log() {
    throw new Error(
      'lampart-sdk: no host: a component must be built from an entry that imports `host.js` ' +
        'first; unit tests must import `testing.js`',
    );
  },
  setting() {
    return NO_HOST.log();
  },
  settingKeys() {
    return NO_HOST.log();
  },
};

let currentHost = NO_HOST;

/**
 * Installs the host's functions: `{ log(level, message), setting(key), settingKeys() }`.
 * `host.js` installs the component's imports; `testing.js` installs stand-ins.
 */
export function setHost(host) {
  for (const name of ['log', 'setting', 'settingKeys']) {
    if (typeof host?.[name] !== 'function') {
      throw new TypeError(`setHost: the host has no function \`${name}\``);
    }
  }
  currentHost = host;
}

/** The installed host (see `setHost`). */
export function getHost() {
  return currentHost;
}

// ---------------------------------------------------------------------------------
// Logging

const LEVELS = ['debug', 'info', 'warn', 'error'];

/**
 * Writes one line to the host's log, tagged by the host with the step's name. Lines are
 * part of the decision's call; an `error` line explains a failure and becomes its
 * message. Logging never changes a decision.
 */
export function log(level, message) {
  if (!LEVELS.includes(level)) {
    throw new TypeError(`log: unknown level \`${level}\` (expected debug, info, warn or error)`);
  }
  currentHost.log(level, String(message));
}

/** Logging at each level: `logger.debug('…')`, `logger.info`, `logger.warn`, `logger.error`. */
export const logger = Object.freeze({
  debug: (message) => log('debug', message),
  info: (message) => log('info', message),
  warn: (message) => log('warn', message),
  error: (message) => log('error', message),
});

// ---------------------------------------------------------------------------------
// JSON pointers (RFC 6901)

/** Escapes one reference token for a JSON pointer (`~` → `~0`, `/` → `~1`). */
export function escapeToken(token) {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Appends one reference token to a pointer: `pushToken('/a', 'b/c')` is `/a/b~1c`. */
export function pushToken(pointer, token) {
  return `${pointer}/${escapeToken(token)}`;
}

/**
 * Whether `pointer` is a valid JSON pointer: empty (the whole document), or
 * `/`-separated tokens in which every `~` is followed by `0` or `1`.
 */
export function isPointer(pointer) {
  if (typeof pointer !== 'string') return false;
  if (pointer === '') return true;
  return pointer.startsWith('/') && !/~(?![01])/.test(pointer);
}

const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The value at JSON pointer `pointer` in `value`, or `undefined`, where a token of digits
 * only indexes an array and never names an object member.
 *
 * RFC 6901 lets `/recipients/0` name the member `"0"` of an object as well as the first
 * item of an array. For a policy that is a hole: a caller could send
 * `{"recipients": {"0": "trusted@corp", "x": "attacker@evil"}}` to make an object pass a
 * rule written for the first item of a list. Here such a token on an object finds nothing,
 * as does an invalid pointer, an index with a leading zero and anything inherited
 * (`/constructor` finds nothing in `{}`).
 */
export function lookup(value, pointer) {
  if (pointer === '') return value;
  if (!isPointer(pointer)) return undefined;
  let current = value;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const isIndex = /^[0-9]+$/.test(token);
    if (Array.isArray(current)) {
      if (!isIndex || (token.length > 1 && token.startsWith('0'))) return undefined;
      const index = Number(token);
      if (!Number.isSafeInteger(index) || index >= current.length) return undefined;
      current = current[index];
    } else if (isObject(current)) {
      if (isIndex || !hasOwn(current, token)) return undefined;
      current = current[token];
    } else {
      return undefined;
    }
  }
  return current;
}

/**
 * Every string in a JSON value, depth first, as `[pointer, text]` pairs (relative to
 * `value`; a string at the root has pointer `""`). Array items come in order, object
 * members sorted by key; keys themselves are not visited.
 */
export function* jsonStrings(value) {
  const stack = [['', value]];
  while (stack.length > 0) {
    const [pointer, item] = stack.pop();
    if (typeof item === 'string') {
      yield [pointer, item];
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i -= 1) stack.push([`${pointer}/${i}`, item[i]]);
    } else if (isObject(item)) {
      const keys = Object.keys(item).sort();
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        stack.push([pushToken(pointer, keys[i]), item[keys[i]]]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// Globs

/**
 * Whether `text` matches the glob `pattern`: `*` is any run of characters (including
 * none, `.`, `/` and `_`), `?` exactly one character; everything else is literal and
 * case-sensitive. No classes, braces or escapes. `fs.*` matches `fs.read` but not `fs`.
 */
export function globMatches(pattern, text) {
  const p = Array.from(String(pattern));
  const t = Array.from(String(text));
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === t[ti]))) {
      pi += 1;
      ti += 1;
    } else if (pi < p.length && p[pi] === '*') {
      starP = pi;
      starT = ti;
      pi += 1;
    } else if (starP >= 0) {
      pi = starP + 1;
      starT += 1;
      ti = starT;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi += 1;
  return pi === p.length;
}

/** Whether `text` matches at least one of `patterns`. */
export function globMatchesAny(patterns, text) {
  return patterns.some((pattern) => globMatches(pattern, text));
}

// ---------------------------------------------------------------------------------
// Enums

/** The phases, in the contract's order. */
export const PHASES = Object.freeze(['request', 'response', 'elevation']);

/** The severities, from least to most serious. */
export const SEVERITIES = Object.freeze(['info', 'low', 'medium', 'high', 'critical']);

/** Compares two severities: negative when `a` is less serious than `b`. */
export function compareSeverity(a, b) {
  return SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b);
}

function checkOne(what, value, allowed) {
  if (!allowed.includes(value)) {
    throw new TypeError(`unknown ${what} \`${value}\` (expected ${allowed.join(', ')})`);
  }
  return value;
}

function stringList(what, items) {
  if (typeof items === 'string' || !items || typeof items[Symbol.iterator] !== 'function') {
    throw new TypeError(`${what} must be a list of strings, not ${describeValue(items)}`);
  }
  const out = Array.from(items);
  for (const item of out) {
    if (typeof item !== 'string') {
      throw new TypeError(`${what} must be a list of strings; found ${describeValue(item)}`);
    }
  }
  return out;
}

function describeValue(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'undefined';
  const type = typeof value;
  if (type === 'string') return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
  if (type === 'number') return `a number (${value})`;
  if (type === 'boolean') return `a boolean (${value})`;
  if (type === 'object') return 'an object';
  return `a ${type}`;
}

// ---------------------------------------------------------------------------------
// Findings, decisions, inspections, info

/**
 * Something a plugin noticed. Own fields are exactly the contract's: `rule`, `severity`,
 * `message`, `location` (a JSON pointer, or `undefined`).
 */
export class Finding {
  constructor(rule, severity, message, location = undefined) {
    this.rule = String(rule);
    this.severity = checkOne('severity', severity, SEVERITIES);
    this.message = String(message);
    this.location = location === undefined || location === null ? undefined : String(location);
  }

  /** An `info` finding: worth recording, never a reason to deny on its own. */
  static info(rule, message) {
    return new Finding(rule, 'info', message);
  }

  /** A `low` finding. */
  static low(rule, message) {
    return new Finding(rule, 'low', message);
  }

  /** A `medium` finding. */
  static medium(rule, message) {
    return new Finding(rule, 'medium', message);
  }

  /** A `high` finding. */
  static high(rule, message) {
    return new Finding(rule, 'high', message);
  }

  /** A `critical` finding. */
  static critical(rule, message) {
    return new Finding(rule, 'critical', message);
  }

  /** Sets the location: a JSON pointer into the arguments or the output, e.g. `/cmd`. */
  at(pointer) {
    this.location = String(pointer);
    return this;
  }
}

/** A finding of rule `rule` with severity `severity`: `finding('x.y', 'high', 'why')`. */
export function finding(rule, severity, message) {
  return new Finding(rule, severity, message);
}

function addFindings(list, findings) {
  for (const f of findings) {
    if (!(f instanceof Finding)) {
      list.push(new Finding(f?.rule, f?.severity, f?.message, f?.location ?? undefined));
    } else {
      list.push(f);
    }
  }
}

/**
 * A policy's answer. Own fields are exactly the contract's: `verdict` (`{tag: 'allow'}`,
 * `{tag: 'deny', val: reason}`, `{tag: 'require', val: scopes}`, `{tag: 'abstain'}`),
 * `findings` and `labels`. Make one with `allow()`, `deny()`, `require()` or `abstain()`.
 */
export class Decision {
  constructor(verdict) {
    this.verdict = verdict;
    this.findings = [];
    this.labels = [];
  }

  /** Adds a finding that explains the decision (it counts towards the chain's `deny-at`). */
  withFinding(f) {
    addFindings(this.findings, [f]);
    return this;
  }

  /** Adds findings. */
  withFindings(findings) {
    addFindings(this.findings, findings);
    return this;
  }

  /** Adds a label to put on the session. */
  withLabel(label) {
    this.labels.push(String(label));
    return this;
  }

  /** Adds labels to put on the session. */
  withLabels(labels) {
    this.labels.push(...stringList('labels', labels));
    return this;
  }

  /** `allow`, `deny`, `require` or `abstain`. */
  get kind() {
    return this.verdict.tag;
  }

  /** Whether the verdict is `allow`. */
  get isAllow() {
    return this.verdict.tag === 'allow';
  }

  /** Whether the verdict is `abstain`. */
  get isAbstain() {
    return this.verdict.tag === 'abstain';
  }

  /** The reason, when the verdict is `deny`; else `undefined`. */
  get denyReason() {
    return this.verdict.tag === 'deny' ? this.verdict.val : undefined;
  }

  /** The scopes, when the verdict is `require`; else `undefined`. */
  get requiredScopes() {
    return this.verdict.tag === 'require' ? this.verdict.val : undefined;
  }
}

/** The action may go ahead, as far as this policy is concerned. */
export function allow() {
  return new Decision({ tag: 'allow' });
}

/** The action must not go ahead; `reason` is shown to the agent and the operator. */
export function deny(reason) {
  if (typeof reason !== 'string' || reason === '') {
    throw new TypeError(`deny: the reason must be a non-empty string, not ${describeValue(reason)}`);
  }
  return new Decision({ tag: 'deny', val: reason });
}

/**
 * The action may go ahead only if the principal holds every one of `scopes`; when it does
 * not, the chain answers `elevation-required` naming the missing ones.
 */
export function require(scopes) {
  const list = stringList('require: scopes', scopes);
  if (list.length === 0) throw new TypeError('require: name at least one scope');
  return new Decision({ tag: 'require', val: list });
}

/** No opinion on this action. */
export function abstain() {
  return new Decision({ tag: 'abstain' });
}

/**
 * A change an inspector asks for in what is passed on. Own fields are exactly the
 * contract's: `location`, `find` (or `undefined`: the whole value), `replacement`.
 */
export class Redaction {
  constructor(location, find, replacement) {
    this.location = String(location);
    this.find = find === undefined || find === null ? undefined : String(find);
    this.replacement = String(replacement);
  }

  /** Replace the whole string at `location` (`""` for a plain-text output). */
  static whole(location, replacement) {
    return new Redaction(location, undefined, replacement);
  }

  /** Replace every occurrence of `find` within the string at `location`. */
  static text(location, find, replacement) {
    return new Redaction(location, find, replacement);
  }
}

/**
 * What an inspector returns. Own fields are exactly the contract's: `findings`, `labels`,
 * `redactions`.
 */
export class Inspection {
  constructor() {
    this.findings = [];
    this.labels = [];
    this.redactions = [];
  }

  /** Adds a finding. */
  withFinding(f) {
    addFindings(this.findings, [f]);
    return this;
  }

  /** Adds findings. */
  withFindings(findings) {
    addFindings(this.findings, findings);
    return this;
  }

  /** Adds a label to put on the session, unless it is already there. */
  withLabel(label) {
    const text = String(label);
    if (!this.labels.includes(text)) this.labels.push(text);
    return this;
  }

  /** Adds labels (each once). */
  withLabels(labels) {
    for (const label of stringList('labels', labels)) this.withLabel(label);
    return this;
  }

  /** Adds a redaction. */
  withRedaction(redaction) {
    const r = redaction instanceof Redaction
      ? redaction
      : new Redaction(redaction?.location, redaction?.find, redaction?.replacement);
    this.redactions.push(r);
    return this;
  }

  /** Adds redactions. */
  withRedactions(redactions) {
    for (const r of redactions) this.withRedaction(r);
    return this;
  }

  /** Whether nothing was found, labelled or redacted. */
  get isEmpty() {
    return this.findings.length === 0 && this.labels.length === 0 && this.redactions.length === 0;
  }

  /** The most serious finding's severity, or `undefined`. */
  get maxSeverity() {
    let max;
    for (const f of this.findings) {
      if (max === undefined || compareSeverity(f.severity, max) > 0) max = f.severity;
    }
    return max;
  }
}

/** Nothing found yet: `inspection().withFinding(…)`. */
export function inspection() {
  return new Inspection();
}

/**
 * What a plugin says about itself. Own fields are exactly the contract's: `name`,
 * `version`, `phases`, `tools`.
 */
export class Info {
  constructor(name, version, { phases = ['request'], tools = ['*'] } = {}) {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`info: the name must be a non-empty string, not ${describeValue(name)}`);
    }
    this.name = name;
    this.version = String(version);
    this.phases = stringList('info: phases', phases).map((p) => checkOne('phase', p, PHASES));
    this.tools = stringList('info: tools', tools);
  }
}

/**
 * A plugin named `name` at `version`. Options: `phases` (default `['request']`), the
 * phases it wants to see, and `tools` (default `['*']`), the tool-name globs it wants to
 * see (`fs.*`, `send_*`); a chain step may narrow both further.
 *
 *   info('spend-limit', '0.1.0', { tools: ['send_money', 'pay_*'] })
 */
export function info(name, version, options = {}) {
  return new Info(name, version, options);
}

// ---------------------------------------------------------------------------------
// Settings

/**
 * A setting that is present but unusable (or unknown, or missing when required).
 * `message` reads ``setting `key`: what is wrong``; `key` names the setting.
 */
export class SettingError extends Error {
  constructor(key, problem) {
    super(`setting \`${key}\`: ${problem}`);
    this.name = 'SettingError';
    this.key = key;
    this.problem = problem;
  }
}

/**
 * Reads a raw setting as JSON: the parsed value, or, when the text is not JSON and does
 * not start like a JSON array, object or string (`[`, `{`, `"`), the text itself as a
 * string. `undefined` when `raw` is `undefined`. Throws `SettingError` for broken JSON.
 */
export function parseSetting(key, raw) {
  if (raw === undefined || raw === null) return undefined;
  try {
    return JSON.parse(raw);
  } catch (err) {
    if (/^[[{"]/.test(raw.trimStart())) {
      throw new SettingError(key, `not valid JSON: ${err.message}`);
    }
    return raw; // a plain string setting, e.g. mode = "deny"
  }
}

function expected(key, what, value) {
  return new SettingError(key, `expected ${what}, found ${describeValue(value)}`);
}

/**
 * A step's settings. A setting that is a string in the chain config arrives as that
 * string; anything else (table, array, number, boolean) as JSON text. The typed readers
 * (`json`, `string`, `number`, `integer`, `boolean`, `strings`) parse both kinds (see
 * `parseSetting`), return `fallback` (default `undefined`) when the step does not have
 * the setting, and throw `SettingError` when it does not fit.
 *
 * `settings` reads the host's; `mapSettings({...})` makes one from an object, for tests.
 */
export class Settings {
  /** `source`: `{ get(key) → string | undefined, keys() → string[] }`. */
  constructor(source) {
    this.source = source;
  }

  /** The raw text of setting `key`, or `undefined`. */
  get(key) {
    const raw = this.source.get(key);
    return raw === null ? undefined : raw;
  }

  /** The keys the step has settings for, sorted. */
  keys() {
    return Array.from(this.source.keys());
  }

  /** Whether the step has setting `key`. */
  has(key) {
    return this.get(key) !== undefined;
  }

  /**
   * Refuses any key not in `known` (throws `SettingError`): a misspelled setting must be
   * an error, not a silently ignored value. Returns `this`.
   *
   *   settings.checkKeys(['limit', 'tools'])
   *   // setting `limt`: unknown setting (known: `limit`, `tools`)
   */
  checkKeys(known) {
    const unknown = this.keys().find((key) => !known.includes(key));
    if (unknown !== undefined) {
      const names = known.map((k) => `\`${k}\``).join(', ');
      throw new SettingError(unknown, `unknown setting (known: ${names || 'none'})`);
    }
    return this;
  }

  /** Setting `key` read as JSON (any JSON value). */
  json(key, fallback = undefined) {
    const value = parseSetting(key, this.get(key));
    return value === undefined ? fallback : value;
  }

  /** Setting `key` as a string. */
  string(key, fallback = undefined) {
    const value = this.json(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'string') throw expected(key, 'a string', value);
    return value;
  }

  /** Setting `key` as a (finite) number. */
  number(key, fallback = undefined) {
    const value = this.json(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw expected(key, 'a number', value);
    return value;
  }

  /** Setting `key` as an integer (a number without a fraction, within ±2^53). */
  integer(key, fallback = undefined) {
    const value = this.json(key);
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value)) throw expected(key, 'an integer', value);
    return value;
  }

  /** Setting `key` as a boolean. */
  boolean(key, fallback = undefined) {
    const value = this.json(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw expected(key, 'a boolean', value);
    return value;
  }

  /** Setting `key` as a list of strings. */
  strings(key, fallback = undefined) {
    const value = this.json(key);
    if (value === undefined) return fallback;
    if (!Array.isArray(value)) throw expected(key, 'a list of strings', value);
    value.forEach((item, i) => {
      if (typeof item !== 'string') {
        throw new SettingError(key, `expected a list of strings; item ${i} is ${describeValue(item)}`);
      }
    });
    return value;
  }
}

/** The step's settings, read from the host. */
export const settings = new Settings({
  get: (key) => currentHost.setting(key),
  keys: () => currentHost.settingKeys(),
});

/** Turns a config value into the text the host hands a plugin: strings as they are, the rest as JSON. */
export function settingText(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Settings held in an object, e.g. for tests: `mapSettings({ limit: 100, mode: 'deny' })`.
 * Values are given as they would be written in the chain config.
 */
export function mapSettings(values = {}) {
  const map = new Map(Object.entries(values).map(([k, v]) => [k, settingText(v)]));
  return new Settings({
    get: (key) => map.get(key),
    keys: () => [...map.keys()].sort(),
  });
}

// ---------------------------------------------------------------------------------
// The input

const NOT_PARSED = Symbol('not parsed');

/**
 * Everything a plugin is told about one decision, with the arguments (and a JSON answer
 * of the tool) parsed once, on first use. Wraps the contract's `input` record (`raw`),
 * as componentize-js hands it over: field names in camelCase, enums as strings
 * (`'request'`), an absent option as `undefined`, the tool's output as
 * `{tag: 'text' | 'json', val}`.
 */
export class Input {
  constructor(raw) {
    if (!isObject(raw) || !isObject(raw.action) || !isObject(raw.principal)) {
      throw new TypeError(`Input: expected the contract's input record, not ${describeValue(raw)}`);
    }
    this.raw = raw;
    this._args = NOT_PARSED;
    this._argsError = undefined;
    this._output = NOT_PARSED;
  }

  /** A builder for tests: a request-phase input for tool `tool`, arguments `{}`. */
  static builder(tool) {
    return new InputBuilder(tool);
  }

  /** The decision's identifier, as recorded in the audit log. */
  get id() { return this.raw.id; }

  /** `'request'`, `'response'` or `'elevation'`. */
  get phase() { return this.raw.phase; }

  /** Who is acting: `{agent, roles, session, task}`. */
  get principal() { return this.raw.principal; }

  /** The agent's identity, e.g. `billing-bot`. */
  get agent() { return this.raw.principal.agent; }

  /** The roles the agent holds. */
  get roles() { return this.raw.principal.roles; }

  /** Whether the agent holds role `role`. */
  hasRole(role) { return this.raw.principal.roles.includes(role); }

  /** The conversation or run the action belongs to. */
  get session() { return this.raw.principal.session; }

  /** The task the agent is working on, or `undefined`. */
  get task() { return this.raw.principal.task ?? undefined; }

  /** The tool call: `{tool, args, resource}` (`args` as JSON text). */
  get action() { return this.raw.action; }

  /** The tool's name. */
  get tool() { return this.raw.action.tool; }

  /** Whether the tool's name matches the glob `pattern` (see `globMatches`). */
  toolMatches(pattern) { return globMatches(pattern, this.tool); }

  /** The resource acted on, or `undefined`. */
  get resource() { return this.raw.action.resource ?? undefined; }

  /** The arguments as the host sent them (JSON text). */
  get argsText() { return this.raw.action.args; }

  /** The arguments, parsed (`null` when they are not valid JSON: see `argsError`). */
  get args() {
    if (this._args === NOT_PARSED) {
      try {
        this._args = JSON.parse(this.raw.action.args);
      } catch (err) {
        this._args = null;
        this._argsError = `the arguments are not valid JSON: ${err.message}`;
      }
    }
    return this._args;
  }

  /** Why the arguments are not valid JSON, or `undefined`. */
  get argsError() {
    void this.args;
    return this._argsError;
  }

  /**
   * The argument at JSON pointer `pointer` (e.g. `/payee/iban`), or `undefined`; `''` is
   * the whole arguments object. A token of digits only (`/recipients/0`) indexes an array
   * and never names an object member (see `lookup`).
   */
  arg(pointer) { return lookup(this.args, pointer); }

  /** The argument at `pointer` if it is a string, else `undefined`. */
  argString(pointer) {
    const v = this.arg(pointer);
    return typeof v === 'string' ? v : undefined;
  }

  /** The argument at `pointer` if it is a number, else `undefined`. */
  argNumber(pointer) {
    const v = this.arg(pointer);
    return typeof v === 'number' ? v : undefined;
  }

  /** The argument at `pointer` if it is an integer within ±2^53, else `undefined`. */
  argInteger(pointer) {
    const v = this.arg(pointer);
    return Number.isSafeInteger(v) ? v : undefined;
  }

  /** The argument at `pointer` if it is a boolean, else `undefined`. */
  argBoolean(pointer) {
    const v = this.arg(pointer);
    return typeof v === 'boolean' ? v : undefined;
  }

  /** Every string in the arguments, as `[pointer, text]` pairs (see `jsonStrings`). */
  argStrings() { return jsonStrings(this.args); }

  /** Response phase: the tool's answer as the host sent it (`{tag, val}`), or `undefined`. */
  get output() { return this.raw.output ?? undefined; }

  /** Response phase: the tool's answer, when it answered plain text; else `undefined`. */
  get outputText() {
    const out = this.output;
    return out?.tag === 'text' ? out.val : undefined;
  }

  /**
   * Response phase: the tool's answer, parsed, when it answered JSON; else `undefined`. A
   * text answer stays text even when it reads like JSON.
   */
  get outputJson() {
    if (this._output === NOT_PARSED) {
      this._output = undefined;
      const out = this.output;
      if (out?.tag === 'json') {
        try {
          this._output = JSON.parse(out.val);
        } catch {
          this._output = undefined;
        }
      }
    }
    return this._output;
  }

  /**
   * Every string in the output as `[pointer, text]` pairs: the strings of a JSON answer,
   * or the whole text at pointer `''` for a text answer. Nothing when there is no output.
   */
  *outputStrings() {
    const out = this.output;
    if (out === undefined) return;
    const parsed = this.outputJson;
    if (out.tag === 'json' && parsed !== undefined) {
      yield* jsonStrings(parsed);
    } else {
      yield ['', out.val];
    }
  }

  /**
   * The strings to look at in this phase, as `[pointer, text]` pairs, with the pointers
   * findings and redactions should use: the output's in the response phase, the
   * arguments' otherwise.
   */
  strings() {
    return this.phase === 'response' ? this.outputStrings() : this.argStrings();
  }

  /** The privilege scopes the principal holds right now. */
  get grants() { return this.raw.grants; }

  /** Whether the principal holds scope `scope`. */
  hasGrant(scope) { return this.raw.grants.includes(scope); }

  /** The labels on the session. */
  get labels() { return this.raw.labels; }

  /** Whether the session carries label `label`. */
  hasLabel(label) { return this.raw.labels.includes(label); }

  /** What enforcing inspectors earlier in the chain found: `{rule, severity, message, location}`. */
  get findings() { return this.raw.findings; }
}

/**
 * Builds an `Input` for tests: `Input.builder('send_money').args({amount: 5}).build()`.
 * Starts as a request-phase input, id `test`, agent `agent`, session `session`, no roles.
 */
export class InputBuilder {
  constructor(tool) {
    this.raw = {
      id: 'test',
      phase: 'request',
      principal: { agent: 'agent', roles: [], session: 'session', task: undefined },
      action: { tool: String(tool), args: '{}', resource: undefined },
      output: undefined,
      grants: [],
      labels: [],
      findings: [],
    };
  }

  /** Sets the arguments from a JSON value (an object). */
  args(value) { this.raw.action.args = JSON.stringify(value); return this; }

  /** Sets the arguments' raw text (which need not be valid JSON). */
  argsText(text) { this.raw.action.args = String(text); return this; }

  /** Sets the decision's id. */
  id(id) { this.raw.id = String(id); return this; }

  /** Sets the phase. */
  phase(phase) { this.raw.phase = checkOne('phase', phase, PHASES); return this; }

  /** Sets the agent. */
  agent(agent) { this.raw.principal.agent = String(agent); return this; }

  /** Sets the roles. */
  roles(roles) { this.raw.principal.roles = stringList('roles', roles); return this; }

  /** Sets the session. */
  session(session) { this.raw.principal.session = String(session); return this; }

  /** Sets the task. */
  task(task) { this.raw.principal.task = String(task); return this; }

  /** Sets the resource. */
  resource(resource) { this.raw.action.resource = String(resource); return this; }

  /** Sets the output to a plain-text answer. */
  outputText(text) { this.raw.output = { tag: 'text', val: String(text) }; return this; }

  /** Sets the output to a JSON answer (a value, serialised here). */
  outputJson(value) { this.raw.output = { tag: 'json', val: JSON.stringify(value) }; return this; }

  /** Sets the grants. */
  grants(grants) { this.raw.grants = stringList('grants', grants); return this; }

  /** Sets the session labels. */
  labels(labels) { this.raw.labels = stringList('labels', labels); return this; }

  /** Adds a finding from earlier in the chain. */
  finding(f) {
    const x = f instanceof Finding ? f : new Finding(f?.rule, f?.severity, f?.message, f?.location);
    this.raw.findings.push({ rule: x.rule, severity: x.severity, message: x.message, location: x.location });
    return this;
  }

  /** The raw record, as the host would hand it over (a deep copy). */
  buildRaw() { return structuredCloneRecord(this.raw); }

  /** The input. */
  build() { return new Input(this.buildRaw()); }
}

function structuredCloneRecord(raw) {
  return {
    ...raw,
    principal: { ...raw.principal, roles: [...raw.principal.roles] },
    action: { ...raw.action },
    output: raw.output === undefined ? undefined : { ...raw.output },
    grants: [...raw.grants],
    labels: [...raw.labels],
    findings: raw.findings.map((f) => ({ ...f })),
  };
}

// ---------------------------------------------------------------------------------
// Exporting a plugin

/**
 * One line describing an exception: `Name: message | at fn (file:line:col) | …`, frames
 * inside this SDK and the component's glue left out. A `SettingError` is a configuration
 * problem, not a bug: its message alone.
 */
export function describeError(err) {
  if (err instanceof SettingError) return err.message;
  if (!(err instanceof Error)) return `uncaught exception: ${describeValue(err)}`;
  const oneLine = (text) => String(text).replace(/\s*\n\s*/g, ' ').trim();
  const head = oneLine(err.message ? `${err.name}: ${err.message}` : err.name);
  let stack = typeof err.stack === 'string' ? err.stack : '';
  // V8 starts the stack with the error's own line; SpiderMonkey has frames only.
  const own = err.message ? `${err.name}: ${err.message}` : err.name;
  if (stack.startsWith(own)) stack = stack.slice(own.length);
  const frames = [];
  for (const line of stack.split('\n')) {
    const frame = line.trim();
    if (frame === '') continue;
    if (frame.includes('lampartGuard')) break; // the SDK's wrapper and the glue below it
    const sm = /^([^@]*)@(.*)$/.exec(frame);
    frames.push(sm ? (sm[1] ? `at ${sm[1]} (${sm[2]})` : `at ${sm[2]}`) : frame);
  }
  // The SDK's own frames just above its wrapper say nothing about the plugin.
  while (frames.length > 0 && frames[frames.length - 1].includes('lampart-sdk.js')) frames.pop();
  return [head, ...frames].join(' | ');
}

// Runs one export: any exception is logged at level `error` (the host reports the last
// error line as the cause of the failure) and thrown again, so that the call traps and
// the step denies.
function lampartGuard(fn, arg) {
  try {
    return fn(arg);
  } catch (err) {
    let line;
    try {
      line = describeError(err);
    } catch {
      line = 'uncaught exception';
    }
    try {
      currentHost.log('error', line);
    } catch {
      // No host: nothing more to do than fail.
    }
    throw err;
  }
}

function checkSync(what, value) {
  if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
    throw new TypeError(`${what}() returned a promise: a plugin decides synchronously (no async, no await)`);
  }
  return value;
}

function toInfo(value) {
  const v = checkSync('describe', value);
  if (v instanceof Info) return v;
  if (!isObject(v)) {
    throw new TypeError(`describe() returned ${describeValue(v)}; return info(name, version, {phases, tools})`);
  }
  return new Info(v.name, v.version, { phases: v.phases ?? ['request'], tools: v.tools ?? ['*'] });
}

const VERDICTS = ['allow', 'deny', 'require', 'abstain'];

function toDecision(value) {
  const v = checkSync('evaluate', value);
  if (!isObject(v) || !isObject(v.verdict) || !VERDICTS.includes(v.verdict.tag)) {
    throw new TypeError(
      `evaluate() returned ${describeValue(v)}; return allow(), deny(reason), require(scopes) or abstain()`,
    );
  }
  let d;
  switch (v.verdict.tag) {
    case 'deny': d = deny(v.verdict.val); break;
    case 'require': d = require(v.verdict.val); break;
    default: d = new Decision({ tag: v.verdict.tag });
  }
  d.withFindings(v.findings ?? []).withLabels(v.labels ?? []);
  return d;
}

function toInspection(value) {
  const v = checkSync('inspect', value);
  if (!isObject(v)) {
    throw new TypeError(`inspect() returned ${describeValue(v)}; return inspection() with what was found`);
  }
  return new Inspection()
    .withFindings(v.findings ?? [])
    .withLabels(v.labels ?? [])
    .withRedactions(v.redactions ?? []);
}

function toInput(raw) {
  return raw instanceof Input ? raw : new Input(raw);
}

function describer(describe) {
  if (typeof describe === 'function') return describe;
  if (describe !== undefined) return () => describe;
  throw new TypeError('describe is required: a function returning info(name, version, {phases, tools}), or that info');
}

/**
 * The exports of a policy: `{ describe, evaluate }`. `evaluate(input)` gets an `Input`
 * and returns a `Decision`; `describe()` returns an `Info` (or give the `Info` itself).
 *
 *   export const { describe, evaluate } = policy({ describe, evaluate });
 *
 * An exception thrown by either is logged at level `error` with its stack, then thrown
 * again: the call traps, the step denies (fails closed) and the host shows the logged
 * line as the cause. Functions must be synchronous. The exported `evaluate` also accepts
 * an `Input` (handy in tests).
 */
export function policy({ evaluate, describe } = {}) {
  if (typeof evaluate !== 'function') throw new TypeError('policy: `evaluate` must be a function');
  const about = describer(describe);
  return Object.freeze({
    describe: () => lampartGuard(() => toInfo(about())),
    evaluate: (raw) => lampartGuard((r) => toDecision(evaluate(toInput(r))), raw),
  });
}

/**
 * The exports of an inspector: `{ describe, inspect }`. `inspect(input)` gets an `Input`
 * and returns an `Inspection`; see `policy` for `describe` and for exceptions.
 *
 *   export const { describe, inspect } = inspector({ describe, inspect });
 */
export function inspector({ inspect, describe } = {}) {
  if (typeof inspect !== 'function') throw new TypeError('inspector: `inspect` must be a function');
  const about = describer(describe);
  return Object.freeze({
    describe: () => lampartGuard(() => toInfo(about())),
    inspect: (raw) => lampartGuard((r) => toInspection(inspect(toInput(r))), raw),
  });
}
