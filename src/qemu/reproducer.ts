import { CONSOLE_CHARDEV, vhostBackendArgs } from './args.js';

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * One shell word. A word with a control character (a newline in a cache
 * path) is written $'...' with escapes, so that it stays on its line: a
 * raw newline would end the comment that shows the ssh command.
 */
function shellQuote(word: string): string {
  if (SAFE.test(word)) return word;
  if (!CONTROL.test(word)) return `'${word.replace(/'/g, `'\\''`)}'`;
  const escaped = [...word]
    .map((ch) => {
      const code = ch.charCodeAt(0);
      if (ch === '\\' || ch === "'") return `\\${ch}`;
      return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
    })
    .join('');
  return `$'${escaped}'`;
}

/** The command line, one option and its value per line. */
export function renderCommandLine(binary: string, args: string[]): string {
  const lines = [shellQuote(binary)];
  for (let i = 0; i < args.length; i++) {
    const takesValue = args[i]!.startsWith('-') && i + 1 < args.length && !args[i + 1]!.startsWith('-');
    lines.push(takesValue ? `${shellQuote(args[i]!)} ${shellQuote(args[++i]!)}` : shellQuote(args[i]!));
  }
  return lines.join(' \\\n  ');
}

/**
 * A self-contained script that boots the same guest without numacage: it
 * makes a fresh overlay on the cached base image and runs the exact QEMU
 * command line (console on the terminal, SSH on the same port). Pure.
 */
/**
 * For each vhost-user socket QEMU connects to, its backend started first (it dies with QEMU, which
 * this script execs into) and waited for. Pure.
 */
function backendLines(args: string[]): string {
  return args
    .map((a) => /^socket,id=(dev\d+)-chr,path=(.+)$/.exec(a))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, id, socket]) => {
      const testpmd = renderCommandLine(
        'dpdk-testpmd',
        vhostBackendArgs(socket!, `numacage-repro-${id}`, 'forwarding'),
      );
      return `setpriv --pdeathsig KILL -- nice -n 19 ${testpmd} > ${shellQuote(`${socket}.log`)} 2>&1 &\nuntil [ -S ${shellQuote(socket!)} ]; do sleep 0.2; done\n`;
    })
    .join('');
}

export function renderReproducer(opts: {
  binary: string;
  args: string[];
  baseImage: string;
  overlay: string;
  scratchDisks: string[];
  qmpSocket: string;
  sshPort: number;
  privateKey: string;
}): string {
  return `#!/bin/bash
# Reproduces numacage's guest exactly: same kernel, image, topology and QEMU argv.
# Log in from another terminal with:
#   ssh -i ${shellQuote(opts.privateKey)} -p ${opts.sshPort} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1
# Quit QEMU with Ctrl-A X.
set -euo pipefail
mkdir -p ${shellQuote(opts.qmpSocket.replace(/\/[^/]*$/, ''))}
qemu-img create -q -f qcow2 -F raw -b ${shellQuote(opts.baseImage)} ${shellQuote(opts.overlay)}
${opts.scratchDisks.map((d) => `qemu-img create -q -f qcow2 ${shellQuote(d)} 256M\n`).join('')}${backendLines(opts.args)}exec ${renderCommandLine(
    opts.binary,
    opts.args.map((a) => (a === CONSOLE_CHARDEV ? `${a},mux=on` : a)),
  )}
`;
}
