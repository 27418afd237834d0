import { setFlagsFromString } from 'node:v8';

/**
 * V8's JIT tiers (Sparkplug's baseline code, TurboFan's optimized code) are off while the gateway
 * starts. They are switched back on once it has started (issue 16 §3, docs/deploy.md "Memory").
 *
 * Why: start-up runs code exactly once, but long enough to get hot. Examples are node's ESM
 * resolver, the CJS export lexer and zod building the config schema. By the time it has
 * finished, ~45 functions had been optimized and ~130 baseline-compiled. That code, TurboFan's
 * own pages of the node binary and its malloc'd zones then stayed resident while the gateway
 * idled: about 6 MiB of a 76 MiB idle gateway, for code that never ran again.
 * Once `enableCompilers()` has run, V8 tiers up as it always does. Whatever gets hot under load
 * is compiled as before, so throughput is unchanged. Only start-up itself runs in the interpreter.
 *
 * gateway-main.ts imports this module alone and loads the rest of the gateway with import() after
 * it. Only then are the gateway's modules loaded, linked and run under these flags: a static
 * import would be loaded and linked before any module's top level ran, and most of the hot
 * start-up code is in loading (resolving, lexing). An operator who chose a tier on the command line or in NODE_OPTIONS
 * (`--no-opt`, `--jitless`, `--sparkplug`, …) keeps that choice: nothing is changed then.
 */
const TIER_FLAG = /(^|\s)--(no-)?(opt|turbofan|sparkplug|maglev|jitless|lite-mode)(=|\s|$)/;
const chosen = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => TIER_FLAG.test(arg));

let deferred = !chosen;
if (deferred) {
  setFlagsFromString('--no-turbofan');
  setFlagsFromString('--no-sparkplug');
}

/** Switches V8's baseline and optimizing compilers back on, once start-up is done. Idempotent. */
export function enableCompilers(): void {
  if (!deferred) return;
  deferred = false;
  setFlagsFromString('--sparkplug');
  setFlagsFromString('--turbofan');
}

/** Whether the compilers are still held off (for tests). */
export function compilersDeferred(): boolean {
  return deferred;
}
