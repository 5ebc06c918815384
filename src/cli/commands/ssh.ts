import { sshCommand } from '../../guest/interactive.js';
import { common, defineCommand } from '../options.js';

export default defineCommand(
  'ssh [command..]',
  'a shell, or one command, in the guest left up by `numacage boot`',
  (y) =>
    y
      .positional('command', { type: 'string', array: true, default: [] as string[] })
      .option('guest', { type: 'string', describe: 'guest id (default: the newest)' })
      .option('user', { type: 'string', default: 'root' })
      .example('$0 ssh -- numactl --hardware', 'one command in the guest numacage boot left up'),
  async (argv) => {
    const { cacheDir } = common(argv);
    // Words after `--` land in argv._ (after the command name itself).
    const words = [...argv.command, ...argv._.slice(1).map(String)];
    process.exitCode = await sshCommand({ cacheDir, guest: argv.guest, user: argv.user, command: words.join(' ') });
  },
);
