import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { bar, makeOut, ProgressView } from '../../src/cli/spore/output.js';
import { parseCommandLine, UsageError } from '../../src/cli/spore/cli-options.js';

function sink(isTTY: boolean, columns?: number) {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = columns;
  return { stream, text: () => text };
}

const rows = (state: string, progress: number) => [{ key: 'n1', label: '10.0.0.1 node-1', state, progress }];

describe('spore output modes', () => {
  it('redraws bars in place on a terminal', () => {
    const out = sink(true, 0); // a pty may report 0 columns
    const view = new ProgressView(makeOut(false, out.stream));
    view.render('Rollout x', rows('uploading', 10));
    view.render('Rollout x', rows('uploading', 60));
    const text = out.text();
    assert.match(text, /\[##\.{18}\]  10%  uploading/);
    assert.match(text, /\x1b\[2F\x1b\[2KRollout x/, 'the second frame moves up over the first');
    assert.match(text, /\[#{12}\.{8}\]  60%  uploading\n$/, 'nothing cut off with 0 reported columns');
  });

  it('prints one line per change when piped, uploads by quarters', () => {
    const out = sink(false);
    const view = new ProgressView(makeOut(false, out.stream));
    for (const p of [0, 5, 10, 30, 31, 55, 80, 99]) view.render('Rollout x', rows('uploading', p));
    view.render('Rollout x', rows('rebooting', 100));
    view.render('Rollout x', rows('rebooting', 100));
    const lines = out.text().trim().split('\n');
    assert.equal(lines[0], 'Rollout x');
    assert.deepEqual(
      lines.slice(1).map((l) => l.replace(/^\S+Z /, '')),
      ['10.0.0.1 node-1 uploading 0%', '10.0.0.1 node-1 uploading 25%', '10.0.0.1 node-1 uploading 50%', '10.0.0.1 node-1 uploading 75%', '10.0.0.1 node-1 rebooting'],
    );
    assert.doesNotMatch(out.text(), /\x1b/);
  });

  it('prints nothing but JSON with --json', () => {
    const out = sink(true, 100);
    const o = makeOut(true, out.stream);
    new ProgressView(o).render('Rollout x', rows('uploading', 50));
    o.line('human text');
    o.json({ ok: true });
    assert.deepEqual(JSON.parse(out.text()), { ok: true });
    assert.equal(bar(150, 4), '[####] 100%');
  });

  it('parses options anywhere on the line and refuses those that do not apply', () => {
    const p = parseCommandLine(['--json', 'ota', 'all', 'fw.bin', '-batch=3', '--labels', 'a=1,b=2', '--max-failures', '1']);
    assert.equal(p.command, 'ota all');
    assert.deepEqual(p.args, ['fw.bin']);
    assert.equal(p.flags.get('batch'), 3);
    assert.deepEqual(p.flags.get('labels'), { a: '1', b: '2' });
    assert.equal(p.flags.get('json'), true);
    assert.throws(() => parseCommandLine(['rollout', 'status']), (e: unknown) => e instanceof UsageError && /needs <id>/.test(e.message));
    assert.throws(() => parseCommandLine(['rollout', 'list', 'extra']), (e: unknown) => e instanceof UsageError && /takes no arguments; unexpected "extra"/.test(e.message));
    assert.throws(() => parseCommandLine(['ota', 'all', 'f', '--ips', '10.0.0.300']), (e: unknown) => e instanceof UsageError && /-ips: expected IPv4 addresses/.test(e.message));
  });
});
