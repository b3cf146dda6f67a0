import { readFileSync } from 'node:fs';

/** One instruction of a Dockerfile: `COPY --from=build /app/dist ./dist` → { op: 'COPY', flags: { from: 'build' }, args: [...] }. */
export interface Instruction {
  op: string;
  flags: Record<string, string>;
  /** The words after the flags; for the JSON (exec) form, its elements. */
  args: string[];
  /** The text after the instruction and its flags, as written. */
  rest: string;
}

/** The stages of a Dockerfile by name, each a list of its instructions (comments and blank lines dropped). */
export function readDockerfile(path: string): Map<string, Instruction[]> {
  const lines = readFileSync(path, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const line of lines) {
    const [, op = '', text = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const instruction = parse(op.toUpperCase(), text);
    if (instruction.op === 'FROM') {
      const name = /\bAS\s+(\S+)$/i.exec(text)?.[1] ?? String(stages.size);
      current = [];
      stages.set(name, current);
    }
    current?.push(instruction);
  }
  return stages;
}

function parse(op: string, text: string): Instruction {
  const flags: Record<string, string> = {};
  let rest = text;
  // HEALTHCHECK's own options come before its CMD; the others' flags before their arguments.
  for (let m = /^--([\w-]+)=(\S+)\s*/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s*/.exec(rest)) {
    flags[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  if (op === 'HEALTHCHECK') rest = rest.replace(/^CMD\s+/, '');
  const args = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { op, flags, args, rest };
}
