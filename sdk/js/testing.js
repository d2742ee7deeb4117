// Stand-ins for the host, for unit tests under `node --test`: importing this module
// installs them. Settings are given as they would be written in the chain config
// (strings as they are, anything else is handed to the plugin as JSON text); logged
// lines are kept until `takeLogs()`.
//
//   import { withSettings, takeLogs } from './lampart/testing.js';
//   const decision = withSettings({ limit: 100 }, () => evaluate(input));
//
// State is per module instance: `node --test` runs each test file in its own process,
// and tests within a file run one after another unless asked otherwise.

import { setHost, settingText } from './lampart-sdk.js';

const current = new Map();
let logs = [];
let echo = false;

/** The stand-in host (installed on import). */
export const testHost = Object.freeze({
  log(level, message) {
    logs.push({ level, message });
    if (echo) console.error(`[${level}] ${message}`);
  },
  setting(key) {
    return current.get(key);
  },
  settingKeys() {
    return [...current.keys()].sort();
  },
});

setHost(testHost);

/** Sets one setting, given as in the chain config (`setSetting('limit', 100)`). */
export function setSetting(key, value) {
  current.set(key, settingText(value));
}

/** Removes every setting. */
export function clearSettings() {
  current.clear();
}

/**
 * Runs `fn` with exactly these settings (an object, values as in the chain config), then
 * clears them, also when `fn` throws or its promise rejects. Returns what `fn` returns.
 */
export function withSettings(values, fn) {
  clearSettings();
  for (const [key, value] of Object.entries(values)) setSetting(key, value);
  let result;
  try {
    result = fn();
  } catch (err) {
    clearSettings();
    throw err;
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    return result.finally(clearSettings);
  }
  clearSettings();
  return result;
}

/** Takes the lines logged so far: `[{level, message}]`. */
export function takeLogs() {
  const taken = logs;
  logs = [];
  return taken;
}

/** Also print each logged line to standard error (`[level] message`). */
export function echoLogs(on = true) {
  echo = Boolean(on);
}
