// Unit tests of spend-limit, run natively: `node --test` in this folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Input } from '../../sdk/js/lampart-sdk.js';
import { takeLogs, withSettings } from '../../sdk/js/testing.js';
import plugin, { describe, evaluate } from './spend-limit.js';

const SETTINGS = { limit: 1000, tools: ['send_money', 'pay_*'] };

const pay = (args, tool = 'send_money') => Input.builder(tool).agent('billing-bot').args(args).build();
const decide = (input, settings = SETTINGS) => withSettings(settings, () => evaluate(input));

test('amounts up to the limit are allowed', () => {
  assert.ok(decide(pay({ amount: 120 })).isAllow);
  assert.ok(decide(pay({ amount: 1000 })).isAllow);
  assert.ok(decide(pay({ amount: 0 })).isAllow);
  assert.ok(decide(pay({ amount: 999.99 }, 'pay_invoice')).isAllow);
});

test('larger amounts need the scope', () => {
  const d = decide(pay({ amount: 1000.01 }));
  assert.deepEqual(d.requiredScopes, ['payments:large']);
  assert.deepEqual(d.findings.map((f) => ({ ...f })), [
    { rule: 'spend-limit.over-limit', severity: 'info', message: 'amount 1000.01 is over the limit of 1000', location: '/amount' },
  ]);
  const custom = decide(pay({ amount: 5000 }), { ...SETTINGS, scope: 'treasury:approve' });
  assert.deepEqual(custom.requiredScopes, ['treasury:approve']);
});

test('negative, non-number and missing amounts are denied', () => {
  assert.equal(decide(pay({ amount: -50 })).denyReason, 'send_money: the amount at `/amount` must not be negative (-50)');
  assert.equal(decide(pay({ amount: '120' })).denyReason, 'send_money: the amount at `/amount` must be a number, not "120"');
  assert.equal(decide(pay({ amount: null })).denyReason, 'send_money: the amount at `/amount` must be a number, not null');
  assert.equal(decide(pay({ amount: [5] })).denyReason, 'send_money: the amount at `/amount` must be a number, not [5]');
  const missing = decide(pay({ to: 'acme' }, 'pay_invoice'));
  assert.equal(missing.denyReason, 'pay_invoice: the amount at `/amount` is missing');
  assert.equal(missing.findings[0].rule, 'spend-limit.invalid-amount');
  assert.match(decide(Input.builder('send_money').argsText('{"amount": 5').build()).denyReason, /^send_money: the arguments are not valid JSON/);
});

test('the amount can live elsewhere in the arguments', () => {
  const settings = { ...SETTINGS, amount: '/payment/value' };
  assert.ok(decide(pay({ payment: { value: 10 } }), settings).isAllow);
  assert.deepEqual(decide(pay({ payment: { value: 10_000 } }), settings).requiredScopes, ['payments:large']);
  assert.match(decide(pay({ amount: 10 }), settings).denyReason, /`\/payment\/value` is missing/);
});

test('other tools and phases: no opinion', () => {
  assert.ok(decide(pay({ amount: 1e9 }, 'shell')).isAbstain);
  assert.ok(decide(pay({ amount: 1e9 }, 'send_email')).isAbstain);
  const response = Input.builder('send_money').phase('response').args({ amount: 1e9 }).outputText('ok').build();
  assert.ok(decide(response).isAbstain);
});

test('tools default to send_money', () => {
  assert.ok(decide(pay({ amount: 5 }), { limit: 10 }).isAllow);
  assert.ok(decide(pay({ amount: 5 }, 'pay_invoice'), { limit: 10 }).isAbstain);
});

test('describe names the tools the step should see', () => {
  const about = withSettings(SETTINGS, describe);
  assert.deepEqual({ ...about }, { name: 'spend-limit', version: '0.1.0', phases: ['request'], tools: ['send_money', 'pay_*'] });
});

test('bad settings are refused, naming the setting', () => {
  const refused = (settings, message) => {
    withSettings(settings, () => assert.throws(() => plugin.describe(), { name: 'SettingError', message }));
    assert.deepEqual(takeLogs(), [{ level: 'error', message }]);
  };
  refused({ limt: 1000 }, 'setting `limt`: unknown setting (known: `limit`, `tools`, `scope`, `amount`)');
  refused({}, 'setting `limit`: required: the largest amount allowed without the scope, e.g. `limit = 1000`');
  refused({ limit: 'lots' }, 'setting `limit`: expected a number, found a string ("lots")');
  refused({ limit: -1 }, 'setting `limit`: must not be negative, found -1');
  refused({ limit: 1, tools: 'send_money' }, 'setting `tools`: expected a list of strings, found a string ("send_money")');
  refused({ limit: 1, tools: [] }, 'setting `tools`: name at least one tool');
  refused({ limit: 1, amount: 'amount' }, 'setting `amount`: expected a JSON pointer such as "/amount", found "amount"');
});

test('the exported evaluate fails closed: a bad setting in a decision is an error', () => {
  const raw = Input.builder('send_money').args({ amount: 5 }).buildRaw();
  withSettings({ limit: 'x' }, () => assert.throws(() => plugin.evaluate(raw), /setting `limit`/));
  assert.equal(takeLogs()[0].level, 'error');
  assert.ok(withSettings(SETTINGS, () => plugin.evaluate(raw)).isAllow);
});
