import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * What /proc says about a process: resident memory and CPU time. Linux only; elsewhere every
 * reading is null and the report says "n/a".
 */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** VmRSS and VmHWM (peak since start or since the last reset), in bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** User + system CPU seconds the process has used. */
export function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

/** Our direct children whose command name is `comm` (e.g. the embedded database's "devdb"). */
export function childPidsNamed(comm: string, parent = process.pid): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (name === comm && ppid === parent) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * Samples a process's memory every `intervalMs` while a scenario runs, and its CPU over the whole
 * scenario. The kernel's own peak (VmHWM) is reset at the start when allowed (clear_refs), so the
 * peak belongs to this scenario; the sampled VmRSS maximum backs it up.
 */
export class ProcessSampler {
  private timer: NodeJS.Timeout | undefined;
  private peakRss = 0;
  private hwmReset = false;
  private cpuStart: number | null = null;
  private wallStart = 0;

  constructor(
    readonly pid: number,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.hwmReset = true;
    } catch {
      this.hwmReset = false;
    }
    this.peakRss = 0;
    this.sample();
    this.cpuStart = cpuSecondsOf(this.pid);
    this.wallStart = performance.now();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const mem = memoryOf(this.pid);
    if (mem && Number.isFinite(mem.rss)) this.peakRss = Math.max(this.peakRss, mem.rss);
  }

  /** Peak RSS in bytes and CPU use in percent of one core (200 = both cores of a 2-core machine). */
  stop(): { peakRssBytes: number | null; cpuPercent: number | null } {
    clearInterval(this.timer);
    this.sample();
    const mem = memoryOf(this.pid);
    const cpuEnd = cpuSecondsOf(this.pid);
    const wallS = (performance.now() - this.wallStart) / 1000;
    const hwm = this.hwmReset && mem && Number.isFinite(mem.hwm) ? mem.hwm : 0;
    const peak = Math.max(this.peakRss, hwm);
    return {
      peakRssBytes: peak > 0 ? peak : null,
      cpuPercent: this.cpuStart !== null && cpuEnd !== null && wallS > 0 ? ((cpuEnd - this.cpuStart) / wallS) * 100 : null,
    };
  }
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, ...values] = line.trim().split(/\s+/);
    const ticks = values.slice(0, 8).map(Number); // user nice system idle iowait irq softirq steal
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = ticks[3]! + ticks[4]!;
    return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
  } catch {
    return null;
  }
}
