// The component's entry, given to componentize-js: the host's functions first, then
// the policy's exports. Tests import spend-limit.js directly.
import '../../sdk/js/host.js';
import plugin from './spend-limit.js';

export const { describe, evaluate } = plugin;
