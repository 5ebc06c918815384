import { randomBytes } from 'node:crypto';
import { countTaggedPages, countTaggedPagesInFiles, nodeBacking } from '../adapters/guest-memory.js';
import type { Guest } from '../guest/boot.js';
import type { GuestStep } from '../invariants/guest-step.js';
import { TAG_VARIABLE, type StepWitness } from '../invariants/witness.js';
import type { Topology } from '../model/topology.js';
import type { NodeBacking } from '../qemu/memfd-backings.js';

/** Runs witnessed guest steps: each with a fresh tag for the probe's pages, P's memfd read after it. */
export interface HostWitness {
  run(
    step: GuestStep,
    runStep: (step: GuestStep) => Promise<string>,
    opts?: { copies?: boolean },
  ): Promise<{ text: string; witness: StepWitness }>;
}

/**
 * The host's witness of where a step's pages went (docs/invariants.md, "The
 * host witness"): the probe tags every page it faults with the step's nonce,
 * and after the step the host counts the distinct tagged pages in the memfd
 * that holds P's RAM, and in the topology's scratch disks, where the guest
 * swaps. P's mapping is found once, on first use.
 */
export function hostWitness(guest: Guest, topology: Topology, p: number): HostWitness {
  let backing: Promise<NodeBacking | { unavailable: string }> | undefined;
  return {
    async run(step, runStep, opts = {}) {
      const found = await (backing ??= nodeBacking(guest.qemu.pid, topology, p));
      if ('unavailable' in found) return { text: await runStep(step), witness: { step: step.name, ...found } };
      const nonce = randomBytes(8).readBigUInt64LE();
      const tag = nonce.toString(16).padStart(16, '0');
      const text = await runStep({ ...step, env: { ...step.env, [TAG_VARIABLE]: tag } });
      const swap = guest.scratchDisks.length
        ? await countTaggedPagesInFiles(guest.scratchDisks, nonce).then(
            (reading) => ({ swap: reading }),
            (err: Error) => ({ swapUnavailable: `reading the scratch disks failed: ${err.message}` }),
          )
        : {};
      try {
        return {
          text,
          witness: { step: step.name, reading: await countTaggedPages(guest.qemu.pid, found, nonce, opts), ...swap },
        };
      } catch (err) {
        return {
          text,
          witness: { step: step.name, unavailable: `reading QEMU's memory failed: ${(err as Error).message}`, ...swap },
        };
      }
    },
  };
}
