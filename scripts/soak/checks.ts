/** PASS/FAIL lines, collected so that the command's exit code says whether every check held. */
export class Checks {
  readonly results: { name: string; ok: boolean; detail: string }[] = [];

  check(name: string, ok: boolean, detail = ''): boolean {
    this.results.push({ name, ok, detail });
    console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? ` — ${detail}` : ''}`);
    return ok;
  }

  get failed(): number {
    return this.results.filter((r) => !r.ok).length;
  }
}

export const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
