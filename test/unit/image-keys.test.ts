import { readFileSync } from 'node:fs';
import test from 'ava';
import { clientKeyPair, readableKey } from '../../src/adapters/image-builder.js';
import { projectPath } from '../../src/adapters/project.js';

const fixture = (name: string) => readFileSync(projectPath('test', 'fixtures', 'ssh-keys', name), 'utf8');

test("the key pair ssh2 made for a real image and cannot read is unreadable to numacage's check too", (t) => {
  t.false(readableKey(fixture('ssh2-dropped-zero')));
  t.false(readableKey(fixture('ssh2-dropped-zero.pub')));
});

test('every client key pair numacage makes is readable, its public key 32 bytes (ssh2 alone: one in 256 is not)', (t) => {
  // 1500 draws: without the redraw, the chance that none is one of ssh2's unreadable pairs is 0.3 %.
  for (let i = 0; i < 1500; i++) {
    const keys = clientKeyPair('numacage-test');
    t.true(readableKey(keys.private) && readableKey(keys.public));
    const blob = Buffer.from(keys.public.split(' ')[1]!, 'base64');
    t.is(blob.readUInt32BE(15), 32);
  }
});
