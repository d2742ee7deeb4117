// The host's functions, for a component build: import this module first in the
// component's entry file. It imports the contract's `host` interface, which exists only
// inside a component (under Node, use `testing.js` instead).
//
//   // component.js: the file given to componentize-js
//   import './lampart/host.js';
//   export { describe, evaluate } from './my-policy.js';

import { log, setting, settingKeys } from 'lampart:plugin/host@0.2.0';
import { setHost } from './lampart-sdk.js';

setHost({ log, setting, settingKeys });
