import { sshCommand } from '../../guest/interactive.js';
import { common, defineCommand } from '../options.js';

export default defineCommand(
  'ssh [command..]',
  'a shell, or one command, in the guest left up by `numacage boot`',
  (y) =>
    y
      .positional('command', { type: 'string', array: true, default: [] as string[] })
      .option('guest', { type: 'string', describe: 'guest id (default: the newest)' })
      .option('as', {
        choices: ['root', 'user'] as const,
        default: 'root' as const,
        describe: "the guest user, as in run's --as: root, or the image's unprivileged user",
      })
      .example('$0 ssh -- numactl --hardware', 'one command in the guest numacage boot left up')
      .example(
        '$0 ssh --as user -- numactl --membind=1 true',
        'the same as the unprivileged user, as --as user steps run',
      ),
  async (argv) => {
    const { cacheDir } = common(argv);
    // Words after `--` land in argv._ (after the command name itself).
    const words = [...argv.command, ...argv._.slice(1).map(String)];
    process.exitCode = await sshCommand({ cacheDir, guest: argv.guest, as: argv.as, command: words.join(' ') });
  },
);
