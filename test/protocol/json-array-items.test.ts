import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachArrayItem } from '../../src/protocol/json-array-items.js';

/** What a caller gets: the element-wise read when it applies, else JSON.parse of the whole (as NodeClient.getMembers does). */
function read(text: string): { ok: true; doc: unknown } | { ok: false } {
  try {
    const items: unknown[] = [];
    const scanned = forEachArrayItem(Buffer.from(text, 'utf8'), 'members', (item, i) => {
      assert.equal(i, items.length);
      items.push(item);
    });
    if (scanned) {
      assert.ok(Array.isArray(scanned.rest.members) && (scanned.rest.members as unknown[]).length === 0);
      assert.equal(scanned.count, items.length);
      return { ok: true, doc: { ...scanned.rest, members: items } };
    }
    return { ok: true, doc: JSON.parse(text) as unknown };
  } catch (err) {
    assert.ok(err instanceof SyntaxError, `only JSON.parse's errors come out, not ${String(err)}`);
    return { ok: false };
  }
}

function whole(text: string): { ok: true; doc: unknown } | { ok: false } {
  try {
    return { ok: true, doc: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

const member = (i: number) => ({ hostname: `spore-${i}`, ip: `10.0.0.${i}`, lastSeen: 1_700_000_000 + i, latency: i / 3, status: 'ACTIVE', resources: { freeHeap: 30_000 + i, note: 'a "quoted" [bracket] {brace} \\ back, ü €' }, api: [{ uri: '/api/node/status', method: 'GET' }], labels: { room: `r${i}` } });

describe('forEachArrayItem: the member list read element by element (issue 19)', () => {
  it('gives exactly what JSON.parse gives, or fails where it fails', () => {
    const list = JSON.stringify([member(1), member(2), member(3)]);
    const docs = [
      `{"members":${list}}`,
      ` \n{ "before" : [1, {"members": 2}], "members" : ${JSON.stringify([member(1)], null, 2)} , "after": "x]}" }\n`,
      `{"members":[]}`,
      `{"members":[ ]}`,
      `{"members":[1, "two", null, true, {"a":[{}]}, [[]]]}`,
      `{"members":${list},"members":[]}`, // a second key: JSON.parse keeps the last
      `{"memb\\u0065rs":[1],"members":[2]}`, // an escaped name
      `{"members":{"a":1}}`,
      `{"other":1}`,
      `[{"members":[]}]`,
      `\ufeff{"members":[1]}`, // byte-order mark
      `{"members":[1,]}`,
      `{"members":[1 2]}`,
      `{"members":[,1]}`,
      `{"members":[{"a":1]]}`,
      `{"members":[{"a":1}}`,
      `{"members":[1]} x`,
      `{"members":[1]`,
      `{"members":[1], "x": tru}`,
      `{"members":["unterminated]}`,
      `{"members":[01]}`,
      `{"members":[1],}`,
      `{"members" [1]}`,
      '',
    ];
    for (const text of docs) assert.deepEqual(read(text), whole(text), text);
  });

  it('agrees with JSON.parse on 3,000 random corruptions of a member list', () => {
    const base = Buffer.from(JSON.stringify({ members: [member(1), member(2), member(3), member(4)], self: 'x' }));
    const alphabet = Buffer.from('{}[]",:\\ 0a-');
    let seed = 19;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let k = 0; k < 3000; k++) {
      const b = Buffer.from(base);
      for (let j = 1 + rand(3); j > 0; j--) b[rand(b.length)] = alphabet[rand(alphabet.length)]!;
      const text = b.toString('utf8');
      assert.deepEqual(read(text), whole(text), text);
    }
  });
});
