import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GATEWAY_FLAGS } from '../../src/cli/gateway-flags.js';

/** The README documents every option (issue 2), and every doc it links to exists. */
describe('README', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('lists every spore-gateway option with its configuration key', () => {
    for (const flag of GATEWAY_FLAGS) {
      assert.match(readme, new RegExp(`\\| \`-${flag.name}[ \`]`), `-${flag.name} is missing from the options table`);
      if (flag.configPath) assert.ok(readme.includes(`\`${flag.configPath}\``), `${flag.configPath} is missing`);
    }
  });

  it('links only to files that exist', () => {
    for (const [, target] of readme.matchAll(/\]\(((?!https?:)[^)#]+)(#[^)]*)?\)/g)) {
      assert.doesNotThrow(() => readFileSync(target!), `README links to ${target}, which does not exist`);
    }
  });
});
