import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';

/**
 * The gateway as it was at `commit`, built in a temporary directory (a "before" for a
 * benchmark): `git archive` of that commit, this checkout's node_modules linked in, `tsc -p
 * tsconfig.build.json` (no web UI: the API and the cluster are what is measured). Cached by
 * commit. Returns the gateway binary's path.
 */
export function gatewayAtCommit(commit: string): string {
  const root = resolve('.');
  const full = execFileSync('git', ['rev-parse', commit], { encoding: 'utf8' }).trim();
  const dir = join(tmpdir(), `spore-bench-gateway-${full.slice(0, 12)}`);
  const bin = join(dir, 'dist/src/cli/gateway-main.js');
  if (existsSync(bin)) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${full} | tar -x -C ${JSON.stringify(dir)}`], { stdio: 'inherit' });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  if (!existsSync(bin)) throw new Error(`building ${full} gave no ${bin}`);
  return bin;
}
