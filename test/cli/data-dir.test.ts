import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTs } from '../helpers/gateway-harness.js';

describe('an unusable data directory (issue 12 item 4)', () => {
  it('exits 2 at once with one line naming the path and the reason', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'spore-datadir-'));
    const file = join(scratch, 'a-file');
    await writeFile(file, 'x');
    try {
      for (const [dir, reason] of [
        ['/proc/nope', /\/proc does not allow creating directories/],
        [join(file, 'sub'), /is a file, not a directory|ENOTDIR/],
      ] as const) {
        const gw = spawnTs('src/cli/gateway-main.ts', ['-port', '0', '-udp-port', '0', '-bind', '127.0.0.1', '-data-dir', dir]);
        // Bounded: the old code spun here forever at 90 % CPU; a kill turns that into a failed assertion.
        const timer = setTimeout(() => void gw.kill('SIGKILL'), 90_000);
        const code = await gw.exited;
        clearTimeout(timer);
        assert.equal(code, 2, `${dir}: exit code (stderr: ${gw.stderr()})`);
        const lines = gw.stderr().trim().split('\n');
        assert.equal(lines.length, 1, `one line: ${gw.stderr()}`);
        assert.ok(lines[0]!.includes(dir), `names the path: ${lines[0]}`);
        assert.match(lines[0]!, reason);
        assert.doesNotMatch(gw.stdout() + gw.stderr(), /\n\s+at /, 'no stack trace');
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
