import { planCommand } from '../../run/plan-command.js';
import { defineCommand, guestOptions, kernelOptions, runOptionsFrom, stepOptions, print } from '../options.js';

export default defineCommand(
  'plan',
  'print the run as data: resolved topology, kernel, accelerator, checks and the exact QEMU argv; run nothing',
  (y) =>
    stepOptions(kernelOptions(guestOptions(y)))
      // Where a run would write and what it would keep: nothing for a plan, which writes nothing.
      .hide('out')
      .hide('keep')
      .option('format', {
        choices: ['text', 'json'] as const,
        default: 'text' as const,
        describe: 'json prints the RunPlan',
      })
      .example(
        '$0 plan --kernel built:private-node --append private_node=1',
        'the run as data, QEMU argv included, with nothing built or booted',
      ),
  async (argv) => {
    print(await planCommand(runOptionsFrom(argv), argv.format));
  },
);
