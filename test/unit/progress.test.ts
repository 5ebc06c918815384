import test from 'ava';
import { progressEvent, type ProgressEvent } from '../../src/model/progress.js';
import { CellState } from '../../src/matrix/progress.js';

// The task list's state of one cell, fed the typed events the pipeline logs (model/progress.ts); the
// message texts are free to change.
const record = (event: ProgressEvent, msg = 'any words at all') => ({ level: 30, msg, ...progressEvent(event) });

test('a cell walks through its stages from typed events, whatever the messages say', (t) => {
  const s = new CellState();
  s.apply({ level: 30, msg: 'image cache hit' });
  t.is(s.stage, undefined, 'a message alone moves nothing');
  s.apply(record({ stage: 'image', state: 'cached' }));
  t.deepEqual([s.stage, s.detail], ['image', 'cached']);
  s.apply(record({ stage: 'kernel', state: 'objects', done: 500, estimate: 2018 }));
  t.deepEqual([s.stage, s.detail], ['kernel', '[#####---------------] 500/2018 objects']);
  s.apply(record({ stage: 'kernel', state: 'built', release: '6.12.118', seconds: 540 }));
  t.is(s.detail, 'built 6.12.118 in 540 s');
  s.apply(record({ stage: 'boot', state: 'booting', accel: 'tcg', sshPort: 2222 }));
  t.is(s.detail, 'TCG, SSH on port 2222');
  s.apply(record({ stage: 'boot', state: 'ssh', seconds: 5.4 }));
  t.deepEqual([s.stage, s.details.get('boot')], ['checks', 'SSH after 5.4 s']);
  s.apply(record({ stage: 'checks', state: 'done', id: 'topology', outcome: 'pass' }));
  s.apply(record({ stage: 'checks', state: 'started', id: 'exec-1' }));
  t.is(s.detail, '1 done; running exec-1');
});
