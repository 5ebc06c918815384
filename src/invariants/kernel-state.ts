import { parseNodeStates, parseZoneinfo, type Zone } from '../parsers/isolation-parsers.js';
import { parseSections, section } from './records.js';
import type { GuestStep } from './guest-step.js';

/** What the booted kernel advertises, read once before any invariant: the input of profile detection and abi. */
export interface KernelState {
  release: string;
  cmdline: string;
  /** /sys/devices/system/node/has_* (and possible, online) → nodes. */
  nodeStates: Record<string, number[]>;
  zones: Zone[];
  /** Kernel log lines about private nodes (a refused private_node=, say). */
  privateNodeLog: string[];
}

export const KERNEL_STATE_STEP: GuestStep = { name: 'kernel-state', script: 'kernel-state.sh' };

/** Parses the kernel-state step's output. Pure. */
export function parseKernelState(text: string): KernelState {
  const s = parseSections(text);
  const get = (name: string) => section(s, name, KERNEL_STATE_STEP.name);
  return {
    release: get('release').trim(),
    cmdline: get('cmdline').trim(),
    nodeStates: parseNodeStates(get('node-states')),
    zones: parseZoneinfo(get('zoneinfo')),
    privateNodeLog: get('private-node-log')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  };
}
