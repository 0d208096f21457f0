// What the benchmark ran on: CPU, cores, memory, Node.js, OS, the helm binary's version and the load.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { execa } from 'execa';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory: string;
  node: string;
  os: string;
  helm: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  load: string;
}

function osName(): string {
  let pretty = '';
  try {
    pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux, or no os-release: the kernel line below still says what it is
  }
  const kernel = `${os.type()} ${os.release()} ${os.arch()}`;
  return pretty ? `${pretty} (${kernel})` : kernel;
}

export async function machineInfo(helm: string): Promise<MachineInfo> {
  const cpus = os.cpus();
  const { stdout } = await execa(helm, ['version', '--short'], { reject: false });
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    os: osName(),
    helm: String(stdout).trim() || 'unknown',
    load: os.loadavg()[0].toFixed(2),
  };
}

export function formatMachine(m: MachineInfo): string {
  return [
    `CPU      ${m.cpu}`,
    `cores    ${m.cores}`,
    `RAM      ${m.memory}`,
    `Node.js  ${m.node}`,
    `OS       ${m.os}`,
    `helm     ${m.helm}`,
    `load     ${m.load} (1-minute average at start)`,
  ].join('\n');
}
