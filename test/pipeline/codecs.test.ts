import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileJsonPath } from '../../src/pipeline/json-path.js';
import { decodeRegisters, encodeRegisters, ORDERS, planReads, REGISTER_COUNT, REGISTER_TYPES } from '../../src/pipeline/modbus-codec.js';
import { topicFilterProblem } from '../../src/mqtt/topic-filter.js';
import { matchTopic, renderTemplate, templateProblem } from '../../src/pipeline/topic-template.js';

const words = (w: number[]) => Buffer.from(w.flatMap((x) => [x >> 8, x & 0xff]));

describe('modbus register codec', () => {
  it('decodes the four layouts of one value', () => {
    assert.equal(decodeRegisters(words([0xf8a4, 0x32eb]), 'int32'), -123456789);
    assert.equal(decodeRegisters(words([0x32eb, 0xf8a4]), 'int32', 'big', 'little'), -123456789);
    assert.equal(decodeRegisters(words([0xa4f8, 0xeb32]), 'int32', 'little', 'big'), -123456789);
    assert.equal(decodeRegisters(words([0xeb32, 0xa4f8]), 'int32', 'little', 'little'), -123456789);
    assert.equal(decodeRegisters(words([0xff85]), 'int16'), -123);
    assert.equal(decodeRegisters(words([0x85ff]), 'uint16', 'little'), 65413);
  });

  it('encodes what it decodes, for every type and order', () => {
    for (const type of REGISTER_TYPES) {
      for (const byteOrder of ORDERS) {
        for (const wordOrder of ORDERS) {
          const arb =
            type === 'int16' ? fc.integer({ min: -32768, max: 32767 })
            : type === 'uint16' ? fc.integer({ min: 0, max: 65535 })
            : type === 'int32' ? fc.integer({ min: -2147483648, max: 2147483647 })
            : type === 'uint32' ? fc.integer({ min: 0, max: 4294967295 })
            : type === 'float32' ? fc.float({ noNaN: true, noDefaultInfinity: true }).map(Math.fround)
            : fc.double({ noNaN: true, noDefaultInfinity: true });
          fc.assert(
            fc.property(arb, (value) => {
              const regs = encodeRegisters(value, type, byteOrder, wordOrder);
              assert.equal(regs.length, REGISTER_COUNT[type]);
              assert.ok(decodeRegisters(words(regs), type, byteOrder, wordOrder) === value);
            }),
            { numRuns: 200 },
          );
        }
      }
    }
  });

  it('refuses values that do not fit, naming the range', () => {
    assert.throws(() => encodeRegisters(40000, 'int16'), /-32768\.\.32767/);
    assert.throws(() => encodeRegisters(-1, 'uint32'), /0\.\.4294967295/);
    assert.throws(() => encodeRegisters(1.5, 'uint16'), /whole number/);
    assert.deepEqual(encodeRegisters(214.99999999999997, 'uint16'), [215], 'float noise from an inverted scale is accepted');
    assert.throws(() => encodeRegisters(1e39, 'float32'), /float32/);
  });

  it('merges reads of neighbouring addresses within the protocol limits', () => {
    const ch = (kind: 'holding' | 'input' | 'coil' | 'discrete', address: number, count = 1) => ({ kind, address, count });
    const plan = (chs: ReturnType<typeof ch>[], gap = 0) => planReads(chs, gap).map((b) => `${b.kind}:${b.address}+${b.count}`);
    assert.deepEqual(plan([ch('holding', 0), ch('holding', 1, 2), ch('holding', 3, 4)]), ['holding:0+7']);
    assert.deepEqual(plan([ch('holding', 0), ch('holding', 2)]), ['holding:0+1', 'holding:2+1']);
    assert.deepEqual(plan([ch('holding', 0), ch('holding', 2)], 1), ['holding:0+3']);
    assert.deepEqual(plan([ch('holding', 10, 2), ch('holding', 10), ch('input', 10)]), ['holding:10+2', 'input:10+1']);
    assert.deepEqual(plan([ch('holding', 0), ch('holding', 124), ch('holding', 125)], 200), ['holding:0+125', 'holding:125+1'], 'at most 125 registers per read');
    assert.deepEqual(plan([ch('coil', 0), ch('coil', 1999), ch('coil', 2000)], 2000), ['coil:0+2000', 'coil:2000+1'], 'at most 2000 bits per read');
  });
});

describe('JSON path', () => {
  it('extracts with dots, brackets and indices', () => {
    const doc = { a: { b: [{ c: 1 }, { c: 2 }] }, 'odd key': true, main: { temp: 21.5 } };
    assert.equal(compileJsonPath('$.a.b[1].c')(doc), 2);
    assert.equal(compileJsonPath("$['odd key']")(doc), true);
    assert.equal(compileJsonPath('$["main"].temp')(doc), 21.5);
    assert.deepEqual(compileJsonPath('$')(doc), doc);
    assert.equal(compileJsonPath('$.a.x.y')(doc), undefined);
    assert.equal(compileJsonPath('$.a.b[9]')(doc), undefined);
    assert.equal(compileJsonPath('$.a[0]')(doc), undefined, 'an index into an object gives nothing');
    assert.equal(compileJsonPath('$.constructor')(doc), undefined, 'only own properties');
  });

  it('explains a malformed path', () => {
    assert.throws(() => compileJsonPath('a.b'), /must start with "\$"/);
    assert.throws(() => compileJsonPath('$.a['), /expected \[index\]/);
    assert.throws(() => compileJsonPath('$..a'), /a name must follow "\."/);
  });
});

describe('MQTT topic filters and {n} captures', () => {
  it('matches + and # and gives the topic levels', () => {
    assert.deepEqual(matchTopic('sensors/+/reading', 'sensors/boiler/reading'), ['sensors', 'boiler', 'reading']);
    assert.equal(matchTopic('sensors/+/reading', 'sensors/boiler/x'), null);
    assert.equal(matchTopic('sensors/+', 'sensors/a/b'), null);
    assert.deepEqual(matchTopic('plant/#', 'plant/a/b'), ['plant', 'a', 'b']);
    assert.deepEqual(matchTopic('plant/#', 'plant'), ['plant']);
    assert.equal(matchTopic('#', '$SYS/x'), null, '# does not match $ topics');
    assert.equal(renderTemplate('{1}', ['sensors', 'boiler', 'reading']), 'boiler');
    assert.equal(renderTemplate('{0}-{2}', ['a', 'b', 'c']), 'a-c');
    assert.equal(renderTemplate('t/{gateway}/{device}', [], { gateway: 'g', device: 'd' }), 't/g/d');
  });

  it('validates filters and templates', () => {
    assert.equal(topicFilterProblem('a/+/b/#'), undefined);
    assert.match(topicFilterProblem('a/#/b')!, /last/);
    assert.match(topicFilterProblem('a/b+')!, /whole level/);
    assert.match(templateProblem('{3}', 'a/+/b')!, /levels 0-2/);
    assert.equal(templateProblem('{7}', 'a/#'), undefined, '# can capture deeper levels');
  });
});
