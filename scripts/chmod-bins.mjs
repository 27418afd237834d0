#!/usr/bin/env node
// Makes the package's binaries executable after a build: tsc writes them 0644, and npm
// links a package's own bins (for `npx spore-gateway` in this checkout) without fixing that.
import { chmodSync, readFileSync } from 'node:fs';

const { bin } = JSON.parse(readFileSync('package.json', 'utf8'));
for (const path of Object.values(bin)) chmodSync(path, 0o755);
