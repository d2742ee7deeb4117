// Types of testing.js: stand-ins for the host in unit tests.
import type { Host, Json, LogLevel } from './lampart-sdk.js';

/** The stand-in host, installed when this module is imported. */
export const testHost: Readonly<Host>;
/** Sets one setting, given as in the chain config. */
export function setSetting(key: string, value: Json): void;
/** Removes every setting. */
export function clearSettings(): void;
/** Runs `fn` with exactly these settings, then clears them. */
export function withSettings<T>(values: Record<string, Json>, fn: () => T): T;
/** Takes the lines logged so far. */
export function takeLogs(): { level: LogLevel; message: string }[];
/** Also print each logged line to standard error. */
export function echoLogs(on?: boolean): void;
