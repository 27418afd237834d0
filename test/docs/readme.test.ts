import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GATEWAY_FLAGS } from '../../src/cli/gateway-flags.js';
import { FIELDBUS_SIM_FLAGS } from '../../emulator/cli/fieldbus-sim-flags.js';
import { SIM_FLAGS } from '../../emulator/cli/sim-flags.js';

/** The README documents every option (issue 2), and every doc it links to exists. */
describe('README', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('lists every spore-gateway option with its configuration key', () => {
    for (const flag of GATEWAY_FLAGS) {
      assert.match(readme, new RegExp(`\\| \`-${flag.name}[ \`]`), `-${flag.name} is missing from the options table`);
      if (flag.configPath) assert.ok(readme.includes(`\`${flag.configPath}\``), `${flag.configPath} is missing`);
    }
  });

  it('emulator/README.md lists every option of spore-sim and of spore-fieldbus-sim in their tables', () => {
    const emulator = readFileSync('emulator/README.md', 'utf8');
    const table = (heading: RegExp) => {
      const at = emulator.search(heading);
      assert.ok(at >= 0, `${heading} in emulator/README.md`);
      return /\n\| option \|[^]*?\n\n/.exec(emulator.slice(at))![0];
    };
    for (const [flags, rows] of [
      [SIM_FLAGS, table(/^## Running it/m)],
      [FIELDBUS_SIM_FLAGS, table(/^## Field devices/m)],
    ] as const) {
      for (const flag of flags) assert.match(rows, new RegExp(`\\| \`-${flag.name}[ \`]`), `-${flag.name} is missing from its table in emulator/README.md`);
    }
  });

  it('links only to files that exist', () => {
    for (const [, target] of readme.matchAll(/\]\(((?!https?:)[^)#]+)(#[^)]*)?\)/g)) {
      assert.doesNotThrow(() => readFileSync(target!), `README links to ${target}, which does not exist`);
    }
  });
});
