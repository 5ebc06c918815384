import test from 'ava';
import { exitsWithin } from '../../src/adapters/qemu-process.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('exitsWithin: an exit in time leaves no timer behind to hold numacage open; no exit in time is false', async (t) => {
  const before = timers();
  t.true(await exitsWithin(Promise.resolve(), 60_000));
  t.is(timers(), before, 'the 60 s timer was cleared');
  t.false(await exitsWithin(new Promise(() => undefined), 20));
  t.is(timers(), before);
});
