import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * System peers (mosquitto, chromium, python3-pymodbus) used by some tests.
 * Without SPORE_REQUIRE_PEERS=1 a test whose peer is missing is skipped;
 * with it (CI) the test fails instead, so a missing install step is caught.
 */
export const REQUIRE_PEERS = process.env.SPORE_REQUIRE_PEERS === '1';

export function findBinary(name: string, candidates: string[] = []): string | undefined {
  for (const path of [...candidates, `/usr/sbin/${name}`, `/usr/bin/${name}`, `/usr/local/bin/${name}`, `/usr/local/sbin/${name}`]) {
    if (existsSync(path)) return path;
  }
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Returns `false` (run the test) when the peer is present, or a skip reason.
 * With SPORE_REQUIRE_PEERS=1 a missing peer throws, failing the test file.
 */
export function skipUnlessPeer(name: string, present: boolean): string | false {
  if (present) return false;
  if (REQUIRE_PEERS) throw new Error(`required test peer "${name}" is missing (SPORE_REQUIRE_PEERS=1); install it (see .ci/run)`);
  return `${name} is not installed`;
}

/** Debian's python with pymodbus (python3-pymodbus installs for /usr/bin/python3). */
export function pymodbusPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import pymodbus'], { stdio: 'ignore' });
      return py;
    } catch {
      // try the next one
    }
  }
  return undefined;
}
