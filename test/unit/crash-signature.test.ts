import test from 'ava';
import { CrashScanner, type Crash } from '../../src/console/crash-scanner.js';
import { crashSignature, stackFrames } from '../../src/console/crash-signature.js';
import { fixture } from '../helpers/fixtures.js';

const scan = (text: string): Crash[] => {
  const s = new CrashScanner();
  return [...s.feed(text), ...s.flush()];
};

test('recorded reports: type and the first meaningful frames, the reporting machinery and unreliable "?" frames left out', (t) => {
  // stock-sysrq-crash.log: a real panic from echo c > /proc/sysrq-trigger on the stock kernel.
  const [panic] = scan(fixture('console', 'stock-sysrq-crash.log'));
  t.is(crashSignature(panic!), 'panic: sysrq_handle_crash < __handle_sysrq < write_sysrq_trigger');
  t.false(stackFrames(panic!.lines).includes('_printk'), '"? _printk" is an unwinder guess');
  // probe-offline-alloc-failure.log: a real allocation failure under memory offlining (lean kernel).
  const sigs = scan(fixture('console', 'probe-offline-alloc-failure.log')).map(crashSignature);
  t.deepEqual(sigs, [
    'alloc-failure: __alloc_pages_noprof < __folio_alloc_noprof < alloc_migration_target',
    'alloc-failure: __alloc_pages_noprof < alloc_pages_mpol_noprof < vma_alloc_folio_noprof',
  ]);
});

test('a WARNING is named by the function it points at; reports without a stack by their title without numbers', (t) => {
  const sigs = scan(fixture('console', 'constructed-reports.log')).map(crashSignature);
  t.true(sigs.includes('warning: __alloc_pages_noprof < alloc_pages_mpol_noprof'), sigs.join('\n'));
  t.true(sigs.includes('oops: do_mbind'));
  t.true(sigs.includes('kasan: KASAN: slab-use-after-free in migrate_pages'));
  t.true(sigs.includes('bug: kernel BUG at mm/migrate.c:N'));
});

test('the same bug on another boot and build (addresses, offsets, times, PIDs, CPUs) gives the same signature', (t) => {
  const text = fixture('console', 'stock-sysrq-crash.log');
  // Physically possible variation: another boot shifts times and PIDs; another build moves every offset.
  const moved = text
    .replace(/\[\s*(\d+)\.(\d+)\]/g, (_m, s: string, f: string) => `[${String(Number(s) + 7).padStart(5)}.${f}]`)
    .replace(/PID: \d+/g, 'PID: 4242')
    .replace(/CPU: \d+/g, 'CPU: 1')
    .replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/g, (m) => `+0x${(parseInt(m.slice(3), 16) + 16).toString(16)}/0x400`);
  t.not(moved, text);
  t.is(crashSignature(scan(moved)[0]!), crashSignature(scan(text)[0]!));
});
