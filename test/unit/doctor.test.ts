import test from 'ava';
import { hostChecks } from '../../src/host/doctor.js';
import { fixture } from '../helpers/fixtures.js';

// test/fixtures/host: this machine's os-release, and Ubuntu 24.04's (README.md there says how it was made).
const byName = (osRelease: string, uid: number | undefined) =>
  Object.fromEntries(hostChecks(osRelease, uid).map((c) => [c.name, c]));

test('doctor: Debian 12 as root passes both host checks', (t) => {
  const c = byName(fixture('host', 'os-release.debian-12'), 0);
  t.like(c['Debian 12'], { ok: true, detail: 'Debian GNU/Linux 12 (bookworm)' });
  t.like(c.root, { ok: true });
});

test('doctor: another system is a note that says what to do; not root is a failure that says how', (t) => {
  const c = byName(fixture('host', 'os-release.ubuntu-24.04'), 1000);
  t.like(c['Debian 12'], { ok: false, optional: true });
  t.regex(
    c['Debian 12']!.detail,
    /^Ubuntu 24\.04\.1 LTS: .*install their equivalents by hand \(qemu-system-x86 .*\) or run numacage in a Debian 12 VM or container/,
  );
  t.like(c.root, { ok: false });
  t.falsy(c.root!.optional);
  t.regex(c.root!.detail, /running as uid 1000: .*run numacage as root/);
  t.regex(byName('', 0)['Debian 12']!.detail, /^a system without \/etc\/os-release/);
});
