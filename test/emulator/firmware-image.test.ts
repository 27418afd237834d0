import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeFirmwareImage, readFirmwareVersion, VersionScanner, ESP_IMAGE_MAGIC } from '../../emulator/index.js';

describe('fake firmware images and their version marker', () => {
  it('makes 0xE9 images whose marker reads back', () => {
    const image = makeFirmwareImage({ version: '2.1.0-rc.1', size: 4096 });
    assert.equal(image[0], ESP_IMAGE_MAGIC);
    assert.equal(image.length, 4096);
    assert.equal(readFirmwareVersion(image), '2.1.0-rc.1');
    assert.equal(readFirmwareVersion(Buffer.alloc(1000, 0xe9)), null, 'no marker → null');
    assert.throws(() => makeFirmwareImage({ version: 'bad version' }), /version/);
  });

  it('finds the marker however the image is split into chunks', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9._+-]{1,32}$/),
        fc.integer({ min: 64, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
        (version, size, cuts) => {
          const image = makeFirmwareImage({ version, size });
          const scanner = new VersionScanner();
          let at = 0;
          let k = 0;
          while (at < image.length) {
            const n = cuts[k++ % cuts.length]!;
            scanner.push(image.subarray(at, at + n));
            at += n;
          }
          assert.equal(scanner.finish(), version);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads a marker at the very end of an image and ignores malformed ones', () => {
    const tail = Buffer.concat([Buffer.from([0xe9, 1, 2]), Buffer.from('SPORE-VERSION:9.9.9')]);
    assert.equal(readFirmwareVersion(tail), '9.9.9');
    const malformed = Buffer.concat([Buffer.from([0xe9]), Buffer.from('SPORE-VERSION: x\0SPORE-VERSION:1.2\0')]);
    assert.equal(readFirmwareVersion(malformed), '1.2', 'skips the malformed marker, finds the next');
  });
});
