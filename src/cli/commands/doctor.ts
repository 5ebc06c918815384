import { HOST_PACKAGES, installPackages, renderDoctor, runDoctor, TEST_PACKAGES } from '../../host/doctor.js';
import { ExitCode } from '../../model/errors.js';
import { common, defineCommand, print } from '../options.js';

export default defineCommand(
  'doctor',
  'check host prerequisites and whether KVM really works',
  (y) =>
    y
      .option('install', {
        type: 'boolean',
        default: false,
        describe:
          "install missing Debian packages with apt-get; KVM's verdict from this host boot's last test boot, if one booted a kernel (plain doctor boots again)",
      })
      .option('for-tests', {
        type: 'boolean',
        default: false,
        describe: `with --install: also what numacage's own tests need (${TEST_PACKAGES.join(' ')})`,
      })
      .example('$0 doctor --install', 'install the Debian packages numacage needs and check KVM'),
  async (argv) => {
    const { cacheDir, log } = common(argv);
    if (argv.install)
      await installPackages(log, argv['for-tests'] ? [...HOST_PACKAGES, ...TEST_PACKAGES] : HOST_PACKAGES);
    const checks = await runDoctor(cacheDir, { kvmFresh: !argv.install });
    print(renderDoctor(checks));
    process.exitCode = checks.every((c) => c.ok || c.optional) ? ExitCode.ok : ExitCode.infra;
  },
);
