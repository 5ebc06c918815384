import { bootGuestCommand } from '../../guest/interactive.js';
import { defineCommand, guestOptions, kernelOptions, runOptionsFrom } from '../options.js';

export default defineCommand(
  'boot',
  'boot a guest and leave it up until Ctrl-C',
  (y) => kernelOptions(guestOptions(y)),
  async (argv) => {
    process.exitCode = await bootGuestCommand(runOptionsFrom(argv));
  },
);
