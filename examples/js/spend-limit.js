// spend-limit: payments up to a limit go through; larger ones need a privilege scope.
//
// For the tools named in `tools` (exact names or globs such as `pay_*`), the amount at
// `/amount` in the call's arguments decides:
//
//   a number from 0 to `limit`       allow
//   a number above `limit`           require `scope` (the chain answers
//                                    `elevation-required` unless the agent holds it)
//   negative, not a number, missing  deny
//
// Other tools: abstain. The policy is pure: it knows nothing of earlier payments, so a
// limit per recipient or per day is not something it can enforce.
//
// Settings (unknown ones are refused, so a misspelling fails the chain at load):
//
//   limit   required  the largest amount allowed without the scope, e.g. 1000
//   tools   optional  tool names or globs, default ["send_money"]
//   scope   optional  the scope a larger amount needs, default "payments:large"
//   amount  optional  JSON pointer to the amount in the arguments, default "/amount"

import {
  Finding,
  SettingError,
  allow,
  abstain,
  deny,
  globMatchesAny,
  info,
  isPointer,
  policy,
  require,
  settings,
} from '../../sdk/js/lampart-sdk.js';

export const NAME = 'spend-limit';
export const VERSION = '0.1.0';

/** The step's settings, checked; throws `SettingError` naming the bad one. */
export function config() {
  settings.checkKeys(['limit', 'tools', 'scope', 'amount']);
  const limit = settings.number('limit');
  if (limit === undefined) {
    throw new SettingError('limit', 'required: the largest amount allowed without the scope, e.g. `limit = 1000`');
  }
  if (limit < 0) throw new SettingError('limit', `must not be negative, found ${limit}`);
  const tools = settings.strings('tools', ['send_money']);
  if (tools.length === 0) throw new SettingError('tools', 'name at least one tool');
  const scope = settings.string('scope', 'payments:large');
  if (scope === '') throw new SettingError('scope', 'must not be empty');
  const amount = settings.string('amount', '/amount');
  if (!isPointer(amount) || amount === '') {
    throw new SettingError('amount', `expected a JSON pointer such as "/amount", found ${JSON.stringify(amount)}`);
  }
  return { limit, tools, scope, amount };
}

export function describe() {
  // Checking the settings here makes a bad config fail when the chain loads.
  const { tools } = config();
  return info(NAME, VERSION, { phases: ['request'], tools });
}

export function evaluate(input) {
  const { limit, tools, scope, amount: at } = config();
  if (input.phase !== 'request' || !globMatchesAny(tools, input.tool)) return abstain();
  if (input.argsError) return deny(`${input.tool}: ${input.argsError}`);

  const amount = input.arg(at);
  const invalid = (what) =>
    deny(`${input.tool}: the amount at \`${at}\` ${what}`).withFinding(
      Finding.medium('spend-limit.invalid-amount', `the amount ${what}`).at(at),
    );
  if (amount === undefined) return invalid('is missing');
  if (typeof amount !== 'number' || !Number.isFinite(amount)) {
    return invalid(`must be a number, not ${JSON.stringify(amount)}`);
  }
  if (amount < 0) return invalid(`must not be negative (${amount})`);
  if (amount > limit) {
    return require([scope]).withFinding(
      Finding.info('spend-limit.over-limit', `amount ${amount} is over the limit of ${limit}`).at(at),
    );
  }
  return allow();
}

export default policy({ describe, evaluate });
