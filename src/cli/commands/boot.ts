import { bootGuestCommand } from '../../guest/interactive.js';
import { defineCommand, guestOptions, kernelOptions, runOptionsFrom } from '../options.js';

export default defineCommand(
  'boot',
  'boot a guest and leave it up until Ctrl-C',
  (y) =>
    kernelOptions(guestOptions(y)).example(
      '$0 boot --kernel built:private-node --append private_node=1',
      'a guest left up for numacage ssh, until Ctrl-C',
    ),
  async (argv) => {
    process.exitCode = await bootGuestCommand(runOptionsFrom(argv));
  },
);
