#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=20 --no-concurrent-recompilation
// The V8 flags above (docs/deploy.md "Memory"): V8's young generation may grow to 2 × 16 MiB,
// and the gateway's start-up (loading its modules) grows it all the way, pages that stay
// resident while the gateway idles; 1 MiB semi-spaces keep an idle gateway ~20 MiB smaller
// (issue 16 §3). The old generation is collected again once it grew by 20 % of what the last
// full collection kept, not by V8's own factor of up to 4×: at 10,000 nodes the member list
// (a 7 MB answer, parsed every 20 s) leaves tens of MB of old-space garbage, and RSS was
// 270–300 MB for a live heap of ~65 MB; with 20 % it is ~190 MB at the same CPU (issue 19,
// bench/gentle-polling.ts). It is no cap: a larger live heap only grows the heap. The
// Dockerfile's ENTRYPOINT passes the same flags. `node gateway-main.js` without them works too.
//
// This file is only the launcher. It holds V8's JIT compilers off (./startup-compilers.ts) and then
// loads the gateway with import(). The gateway's ~500 modules are loaded, linked and run with
// the compilers off, which a static import could not do (static imports are all loaded first).
// gateway-cli.ts switches them on once the gateway has started.
import './startup-compilers.js';

await import('./gateway-cli.js');
