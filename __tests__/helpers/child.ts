import { spawn } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';

/**
 * A Node process running a TypeScript fixture (ts-node, transpile only) that answers
 * each JSON line sent on its stdin with one JSON line on stdout, in order: `ask` sends
 * one command and resolves to its answer, rejects with the answer's `error`, or with
 * the process's stderr if it exits first. Its first line (sent unasked) is `ready()`.
 */
export interface Child {
  ready(): Promise<Answer>;
  ask(command: object): Promise<Answer>;
  kill(): void;
}

export type Answer = Record<string, unknown>;

export function spawnChild(fixture: string, args: readonly string[] = []): Child {
  const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', fixture, ...args], {
    cwd: path.resolve(__dirname, '..', '..'),
  });
  const lines: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  let stderr = '';
  let exited: Error | undefined;
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next.resolve(line);
    else lines.push(line);
  });
  proc.on('exit', (code, signal) => {
    exited = new Error(`child exited (${String(code ?? signal)}): ${stderr}`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  const next = (): Promise<Answer> => {
    const parse = (line: string): Answer => {
      const answer = JSON.parse(line) as Answer;
      if (typeof answer.error === 'string') throw new Error(`child: ${answer.error}`);
      return answer;
    };
    const ready = lines.shift();
    if (ready !== undefined) return Promise.resolve().then(() => parse(ready));
    if (exited) return Promise.reject(exited);
    return new Promise<string>((resolve, reject) => waiting.push({ resolve, reject })).then(parse);
  };
  return {
    ready: next,
    ask(command) {
      proc.stdin.write(`${JSON.stringify(command)}\n`);
      return next();
    },
    kill: () => void proc.kill(),
  };
}
