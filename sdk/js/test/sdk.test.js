import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  Decision,
  Finding,
  Info,
  Input,
  Redaction,
  SettingError,
  abstain,
  allow,
  compareSeverity,
  deny,
  describeError,
  escapeToken,
  getHost,
  globMatches,
  globMatchesAny,
  info,
  inspection,
  inspector,
  isPointer,
  jsonStrings,
  logger,
  lookup,
  mapSettings,
  parseSetting,
  policy,
  pushToken,
  require,
  settings,
} from '../lampart-sdk.js';
import { clearSettings, setSetting, takeLogs, testHost, withSettings } from '../testing.js';

test('pointers: syntax and escaping', () => {
  assert.ok(isPointer(''));
  assert.ok(isPointer('/'));
  assert.ok(isPointer('/a~1b/0'));
  assert.ok(isPointer('/a/~0'));
  assert.ok(!isPointer('cmd'));
  assert.ok(!isPointer('/a~2'));
  assert.ok(!isPointer('/a/~'));
  assert.equal(escapeToken('a/b~c'), 'a~1b~0c');
  assert.equal(pushToken('/a', 'b/c'), '/a/b~1c');
});

test('lookup: a token of digits indexes an array and never names a member', () => {
  const list = { recipients: ['trusted@corp'] };
  assert.equal(lookup(list, '/recipients/0'), 'trusted@corp');
  const object = { recipients: { 0: 'trusted@corp', x: 'attacker@evil' } };
  assert.equal(lookup(object, '/recipients/0'), undefined);
  assert.equal(lookup(object, '/recipients/x'), 'attacker@evil');
  assert.equal(lookup({ a: [1, 2] }, '/a/01'), undefined);
  assert.equal(lookup({ a: [1, 2] }, '/a/2'), undefined);
  assert.equal(lookup({ a: [1, 2] }, '/a/-'), undefined);
  assert.equal(lookup({ a: [1, 2] }, '/a/99999999999999999999'), undefined);
  assert.equal(lookup({ 'a/b': { '~': 3 } }, '/a~1b/~0'), 3);
  assert.equal(lookup({ '': 4 }, '/'), 4);
  assert.equal(lookup({ a: null }, '/a'), null);
  assert.equal(lookup({ a: 'x' }, '/a/b'), undefined);
  assert.equal(lookup({ a: 1 }, 'a'), undefined);
  assert.deepEqual(lookup({ a: 1 }, ''), { a: 1 });
});

test('lookup: nothing inherited', () => {
  assert.equal(lookup({}, '/constructor'), undefined);
  assert.equal(lookup({}, '/__proto__'), undefined);
  assert.equal(lookup(JSON.parse('{"__proto__": 5}'), '/__proto__'), 5);
  assert.equal(lookup([], '/length'), undefined);
});

test('jsonStrings: depth first, members sorted, with pointers', () => {
  const v = { b: ['2', { c: '3' }], a: '1', d: 4, e: null, '~/': 'x' };
  assert.deepEqual([...jsonStrings(v)], [
    ['/a', '1'],
    ['/b/0', '2'],
    ['/b/1/c', '3'],
    ['/~0~1', 'x'],
  ]);
  for (const [pointer, text] of jsonStrings(v)) assert.equal(lookup(v, pointer), text);
  assert.deepEqual([...jsonStrings('plain')], [['', 'plain']]);
  assert.deepEqual([...jsonStrings(null)], []);
});

test('globs', () => {
  assert.ok(globMatches('shell', 'shell'));
  assert.ok(!globMatches('shell', 'shells'));
  assert.ok(!globMatches('shell', 'Shell'));
  assert.ok(globMatches('*', ''));
  assert.ok(globMatches('fs.*', 'fs.'));
  assert.ok(globMatches('fs.*', 'fs.read'));
  assert.ok(!globMatches('fs.*', 'fs'));
  assert.ok(globMatches('a*b*c', 'a-b-b-c'));
  assert.ok(!globMatches('a*b*c', 'a-b-b-d'));
  assert.ok(globMatches('?', 'é'));
  assert.ok(globMatches('?', '😀'));
  assert.ok(!globMatches('?', ''));
  assert.ok(globMatches('send_?oney', 'send_money'));
  assert.ok(!globMatches('*??', 'a'));
  assert.ok(!globMatches(`${'*a'.repeat(50)}b`, 'a'.repeat(10000)));
  assert.ok(globMatchesAny(['fs.*', 'shell'], 'shell'));
  assert.ok(!globMatchesAny([], 'shell'));
});

test('Input: arguments, parsed once', () => {
  const input = Input.builder('shell')
    .args({ cmd: 'ls', n: 3, f: 1.5, ok: true, nested: { 'a/b': ['x'] } })
    .agent('bot')
    .roles(['ops'])
    .build();
  assert.equal(input.tool, 'shell');
  assert.equal(input.agent, 'bot');
  assert.ok(input.hasRole('ops') && !input.hasRole('finance'));
  assert.equal(input.phase, 'request');
  assert.equal(input.argString('/cmd'), 'ls');
  assert.equal(input.argNumber('/n'), 3);
  assert.equal(input.argInteger('/n'), 3);
  assert.equal(input.argInteger('/f'), undefined);
  assert.equal(input.argBoolean('/ok'), true);
  assert.equal(input.argString('/n'), undefined);
  assert.equal(input.arg('/missing'), undefined);
  assert.equal(input.argString('/nested/a~1b/0'), 'x');
  assert.equal([...input.argStrings()].length, 2);
  assert.ok(input.toolMatches('sh*'));
  assert.equal(input.argsError, undefined);
  assert.strictEqual(input.args, input.args);
});

test('Input: invalid arguments are an error value, not an exception', () => {
  const input = Input.builder('x').argsText('{not json').build();
  assert.equal(input.args, null);
  assert.match(input.argsError, /^the arguments are not valid JSON: /);
  assert.equal(input.arg('/a'), undefined);
  assert.deepEqual([...input.argStrings()], []);
});

test('Input: output, text or JSON, and strings() per phase', () => {
  const req = Input.builder('x').args({ a: '1' }).outputText('plain').build();
  assert.deepEqual([...req.strings()], [['/a', '1']]);
  const text = Input.builder('x').phase('response').outputText('42').build();
  assert.equal(text.outputText, '42');
  assert.equal(text.outputJson, undefined);
  assert.deepEqual(text.output, { tag: 'text', val: '42' });
  assert.deepEqual([...text.strings()], [['', '42']]);
  const number = Input.builder('x').phase('response').outputJson(42).build();
  assert.equal(number.outputJson, 42);
  assert.equal(number.outputText, undefined);
  const json = Input.builder('x').phase('response').outputJson({ body: 'hi' }).build();
  assert.deepEqual([...json.strings()], [['/body', 'hi']]);
  const none = Input.builder('x').phase('response').build();
  assert.deepEqual([...none.strings()], []);
  assert.equal(none.output, undefined);
});

test('Input: principal, grants, labels, findings', () => {
  const input = Input.builder('x')
    .id('d-1')
    .session('s-1')
    .task('t-1')
    .resource('/tmp')
    .grants(['g'])
    .labels(['l'])
    .finding(Finding.low('r', 'm').at('/a'))
    .build();
  assert.equal(input.id, 'd-1');
  assert.equal(input.session, 's-1');
  assert.equal(input.task, 't-1');
  assert.equal(input.resource, '/tmp');
  assert.ok(input.hasGrant('g') && !input.hasGrant('h'));
  assert.ok(input.hasLabel('l'));
  assert.deepEqual(input.findings, [{ rule: 'r', severity: 'low', message: 'm', location: '/a' }]);
  const plain = Input.builder('x').build();
  assert.equal(plain.task, undefined);
  assert.equal(plain.resource, undefined);
});

test('Input: the record componentize-js passes (absent options left out)', () => {
  const input = new Input({
    id: 'r1',
    phase: 'response',
    principal: { agent: 'bot', roles: [], session: '' },
    action: { tool: 'fetch', args: '{"url":"https://x"}' },
    output: { tag: 'json', val: '{"a":[1,"b"]}' },
    grants: [],
    labels: [],
    findings: [],
  });
  assert.equal(input.task, undefined);
  assert.equal(input.resource, undefined);
  assert.deepEqual([...input.strings()], [['/a/1', 'b']]);
  assert.throws(() => new Input(undefined), /expected the contract's input record/);
});

test('findings and decisions', () => {
  const f = Finding.high('shell.x', 'bad').at('/cmd');
  assert.deepEqual({ ...f }, { rule: 'shell.x', severity: 'high', message: 'bad', location: '/cmd' });
  assert.throws(() => new Finding('a', 'severe', 'b'), /unknown severity `severe`/);
  assert.ok(compareSeverity('high', 'critical') < 0);
  const d = deny('no').withFinding(Finding.low('r', 'm')).withLabel('x').withLabels(['y']);
  assert.equal(d.denyReason, 'no');
  assert.equal(d.kind, 'deny');
  assert.deepEqual(d.labels, ['x', 'y']);
  assert.deepEqual(require(['payments:large']).requiredScopes, ['payments:large']);
  assert.ok(allow().isAllow);
  assert.ok(abstain().isAbstain);
  assert.equal(allow().denyReason, undefined);
  assert.deepEqual({ ...allow() }, { verdict: { tag: 'allow' }, findings: [], labels: [] });
  assert.throws(() => deny(''), /reason must be a non-empty string/);
  assert.throws(() => require('payments:large'), /must be a list of strings/);
  assert.throws(() => require([]), /at least one scope/);
});

test('inspections and redactions', () => {
  const i = inspection()
    .withFinding(Finding.critical('a', 'b'))
    .withFinding(Finding.low('a', 'b'))
    .withRedaction(Redaction.text('/x', 'secret', '[REDACTED]'))
    .withRedaction(Redaction.whole('', '[GONE]'))
    .withLabel('l')
    .withLabel('l');
  assert.deepEqual(i.labels, ['l']);
  assert.equal(i.maxSeverity, 'critical');
  assert.equal(i.redactions[0].find, 'secret');
  assert.equal(i.redactions[1].find, undefined);
  assert.ok(inspection().isEmpty);
});

test('info', () => {
  assert.deepEqual({ ...info('x', '1.0.0') }, { name: 'x', version: '1.0.0', phases: ['request'], tools: ['*'] });
  const i = info('x', '1', { phases: ['request', 'response'], tools: ['fs.*'] });
  assert.deepEqual(i.phases, ['request', 'response']);
  assert.deepEqual(i.tools, ['fs.*']);
  assert.throws(() => info('x', '1', { phases: ['later'] }), /unknown phase `later`/);
  assert.throws(() => info('', '1'), /name must be a non-empty string/);
  assert.ok(i instanceof Info);
});

test('settings: JSON, plain strings, typed readers', () => {
  const s = mapSettings({ a: [1, 2], b: 'plain', c: '"quoted"', d: '[1,', n: 10, t: true, list: ['x'] });
  assert.deepEqual(s.json('a'), [1, 2]);
  assert.equal(s.string('b'), 'plain');
  assert.equal(s.string('c'), 'quoted');
  assert.throws(() => s.json('d'), (e) => e instanceof SettingError && e.key === 'd' && /^setting `d`: not valid JSON/.test(e.message));
  assert.equal(s.number('n'), 10);
  assert.equal(s.integer('n'), 10);
  assert.throws(() => s.string('n'), /^SettingError|setting `n`: expected a string, found a number \(10\)/);
  assert.equal(s.boolean('t'), true);
  assert.deepEqual(s.strings('list'), ['x']);
  assert.throws(() => s.strings('b'), /setting `b`: expected a list of strings, found a string \("plain"\)/);
  assert.throws(() => s.strings('a'), /setting `a`: expected a list of strings; item 0 is a number/);
  assert.equal(s.number('missing'), undefined);
  assert.equal(s.number('missing', 5), 5);
  assert.equal(parseSetting('k', undefined), undefined);
  assert.equal(parseSetting('k', 'two words'), 'two words');
  assert.throws(() => parseSetting('k', '  {"a":'), /setting `k`: not valid JSON/);
});

test('settings: unknown keys are refused, naming the key and the known ones', () => {
  const s = mapSettings({ rule: '[]' });
  assert.throws(
    () => s.checkKeys(['rules', 'default']),
    { name: 'SettingError', message: 'setting `rule`: unknown setting (known: `rules`, `default`)' },
  );
  assert.strictEqual(mapSettings({ rules: 1 }).checkKeys(['rules']).number('rules'), 1);
  assert.throws(() => s.checkKeys([]), { message: 'setting `rule`: unknown setting (known: none)' });
});

test('settings: the host stand-in', () => {
  withSettings({ mode: 'deny', limit: 3, tools: ['a'] }, () => {
    assert.equal(settings.get('mode'), 'deny');
    assert.equal(settings.get('limit'), '3');
    assert.equal(settings.get('tools'), '["a"]');
    assert.deepEqual(settings.keys(), ['limit', 'mode', 'tools']);
    logger.warn('hello');
  });
  assert.equal(settings.get('mode'), undefined);
  setSetting('x', 1);
  assert.equal(settings.number('x'), 1);
  clearSettings();
  assert.deepEqual(takeLogs(), [{ level: 'warn', message: 'hello' }]);
  assert.deepEqual(takeLogs(), []);
  assert.strictEqual(getHost(), testHost);
});

test('policy: exports run the function on an Input and check what it returns', () => {
  const plugin = policy({
    describe: () => info('p', '0.1.0', { tools: ['send_money'] }),
    evaluate: (input) => (input.argNumber('/amount') > 10 ? require(['big']) : allow()),
  });
  assert.deepEqual(Object.keys(plugin).sort(), ['describe', 'evaluate']);
  assert.deepEqual(plugin.describe().tools, ['send_money']);
  const raw = Input.builder('send_money').args({ amount: 20 }).buildRaw();
  assert.deepEqual(plugin.evaluate(raw).requiredScopes, ['big']);
  assert.ok(plugin.evaluate(Input.builder('send_money').args({ amount: 1 }).build()).isAllow);
  const plain = policy({ describe: { name: 'q', version: '1' }, evaluate: () => ({ verdict: { tag: 'deny', val: 'no' } }) });
  assert.equal(plain.evaluate(raw).denyReason, 'no');
  assert.deepEqual(plain.describe().phases, ['request']);
  takeLogs();
});

test('policy: an exception is logged at error with its stack, then thrown again', () => {
  function deepest(args) {
    return args.payee.name;
  }
  const plugin = policy({ describe: info('p', '1'), evaluate: (input) => deepest(input.args) });
  assert.throws(() => plugin.evaluate(Input.builder('x').build()), TypeError);
  const [line, ...rest] = takeLogs();
  assert.equal(rest.length, 0);
  assert.equal(line.level, 'error');
  assert.match(line.message, /^TypeError: Cannot read properties of undefined \(reading 'name'\) \| at deepest \(/);
  assert.ok(!line.message.includes('\n'));
  assert.ok(!line.message.includes('lampartGuard'));
});

test('policy: a setting error is one line, without a stack', () => {
  const plugin = policy({
    describe: () => {
      settings.checkKeys(['limit']);
      return info('p', '1');
    },
    evaluate: allow,
  });
  withSettings({ limt: 5 }, () => {
    assert.throws(() => plugin.describe(), SettingError);
  });
  assert.deepEqual(takeLogs(), [{ level: 'error', message: 'setting `limt`: unknown setting (known: `limit`)' }]);
});

test('policy: a wrong return value is named', () => {
  const cases = [
    [() => undefined, /evaluate\(\) returned undefined; return allow\(\), deny\(reason\), require\(scopes\) or abstain\(\)/],
    [() => 'allow', /evaluate\(\) returned a string \("allow"\)/],
    [() => Promise.resolve(allow()), /returned a promise: a plugin decides synchronously/],
    [() => ({ verdict: { tag: 'maybe' } }), /returned an object/],
  ];
  for (const [evaluate, message] of cases) {
    const plugin = policy({ describe: info('p', '1'), evaluate });
    assert.throws(() => plugin.evaluate(Input.builder('x').buildRaw()), message);
    assert.match(takeLogs()[0].message, message);
  }
  assert.throws(() => policy({ describe: info('p', '1') }), /`evaluate` must be a function/);
  assert.throws(() => policy({ evaluate: allow }), /describe is required/);
});

test('inspector: exports describe and inspect', () => {
  const plugin = inspector({
    describe: () => info('secrets', '1', { phases: ['request', 'response'] }),
    inspect(input) {
      let out = inspection();
      for (const [pointer, text] of input.strings()) {
        if (text.includes('AKIA')) {
          out = out
            .withFinding(Finding.critical('secrets.aws-key', 'AWS key').at(pointer))
            .withRedaction(Redaction.whole(pointer, '[REDACTED:aws-key]'))
            .withLabel('secret-seen');
        }
      }
      return out;
    },
  });
  assert.deepEqual(Object.keys(plugin).sort(), ['describe', 'inspect']);
  const got = plugin.inspect(Input.builder('mail').args({ body: 'key AKIA123', to: 'x' }).buildRaw());
  assert.deepEqual(got.redactions, [new Redaction('/body', undefined, '[REDACTED:aws-key]')]);
  assert.equal(got.findings[0].location, '/body');
  assert.deepEqual(got.labels, ['secret-seen']);
  const bad = inspector({ describe: info('x', '1'), inspect: () => null });
  assert.throws(() => bad.inspect(Input.builder('x').buildRaw()), /inspect\(\) returned null/);
  takeLogs();
});

test('describeError: SpiderMonkey and V8 stacks, and odd throws', () => {
  const sm = new TypeError('x is undefined');
  sm.stack = 'inner@plugin.js:4:21\nevaluate@plugin.js:6:10\n@plugin.js:9:1\nlampartGuard@lampart/lampart-sdk.js:1:1\nexport_evaluate@initializer.js:430:15\n';
  assert.equal(describeError(sm), 'TypeError: x is undefined | at inner (plugin.js:4:21) | at evaluate (plugin.js:6:10) | at plugin.js:9:1');
  const wrapped = new Error('boom');
  wrapped.stack = 'deny@lampart/lampart-sdk.js:5:5\nevaluate@p.js:1:1\npolicy/evaluate/<@lampart/lampart-sdk.js:9:9\nlampartGuard@lampart/lampart-sdk.js:1:1';
  assert.equal(describeError(wrapped), 'Error: boom | at deny (lampart/lampart-sdk.js:5:5) | at evaluate (p.js:1:1)');
  assert.equal(describeError('just a string'), 'uncaught exception: a string ("just a string")');
  assert.equal(describeError(new SettingError('k', 'bad')), 'setting `k`: bad');
  const multi = new Error('line one\nline two');
  multi.stack = '';
  assert.equal(describeError(multi), 'Error: line one line two');
});

test('Decision is the contract record', () => {
  assert.ok(allow() instanceof Decision);
  assert.deepEqual(JSON.parse(JSON.stringify(require(['a']).withFinding(Finding.info('r', 'm')))), {
    verdict: { tag: 'require', val: ['a'] },
    findings: [{ rule: 'r', severity: 'info', message: 'm' }],
    labels: [],
  });
});
