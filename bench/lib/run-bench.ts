// What every benchmark script shares: machine facts, the stale-build warning, and the run scaffolding
// (options, child processes stopped on exit and Ctrl-C, a work folder, the results file section).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { brokerEntry } from './broker-process.js';
import { ChildSet } from './children.js';

export function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** A stale dist/ would benchmark an older broker; warn rather than build, since a build costs ~20 s. */
export function warnIfStaleBuild(repo: string, log: (line: string) => void): void {
  let built: number;
  try {
    built = statSync(brokerEntry(repo)).mtimeMs;
  } catch {
    return;
  }
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0);
  if (newest(join(repo, 'src')) > built) log('warning: src/ is newer than the build in dist/; run `npm run build` to benchmark the current code');
}

/** command, date, machine and node rows of a report's facts. */
export function machineRows(command: string): [string, string][] {
  return [
    ['command', `\`${command}\``],
    ['date', new Date().toISOString()],
    ['machine', `nproc ${availableParallelism()}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, 1-minute load average ${loadavg()[0]!.toFixed(1)} at the start`],
    ['node', process.version],
  ];
}

/** The dbwarden row: which commit and entry point was measured. */
export function brokerRow(repo: string): [string, string] {
  const commit = tryRun('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']);
  const dirty = tryRun('git', ['-C', repo, 'status', '--porcelain', '--', 'src']) ? ' (src/ has uncommitted changes)' : '';
  let entry = 'dist/ not built';
  try {
    entry = brokerEntry(repo).slice(repo.length + 1);
  } catch {
    // reported when the broker path is skipped
  }
  return ['dbwarden', `commit ${commit}${dirty}, \`node ${entry} serve\``];
}

/** Other work on the machine moves every figure; the report says so next to them rather than let them pass as clean. */
export function busyMachineNote(loadAtStart: number, loadAtEnd: number, steadier: string): string | undefined {
  if (Math.max(loadAtStart, loadAtEnd) <= availableParallelism()) return undefined;
  return `the machine was busy with other work during this run (load average above nproc): throughput varies between rounds more than usual (see the per-round figures); ${steadier} is the steadier figure. Rerun on an idle machine for clean ratios.`;
}

export interface BenchContext<O> {
  opts: O;
  command: string;
  children: ChildSet;
  workDir: string;
  started: number;
  loadAtStart: number;
}

/**
 * Runs a benchmark script: parses options (usage errors exit 2), starts `body` with a child set and a work folder
 * that are cleaned up on every exit path (Ctrl-C included), prints its text and writes its RESULTS.md section.
 */
export function runBench<O extends { help?: boolean; writeResults: boolean }>(spec: {
  script: string;
  help: string;
  parse(argv: string[]): O;
  log(line: string): void;
  resultsFile: string;
  body(ctx: BenchContext<O>): Promise<{ text: string; updateResults(existing: string): string }>;
}): void {
  const main = async (): Promise<number> => {
    let opts: O;
    try {
      opts = spec.parse(process.argv.slice(2));
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n\n${spec.help}`);
      return 2;
    }
    if (opts.help) {
      process.stdout.write(spec.help);
      return 0;
    }
    const command = [`npx tsx ${spec.script}`, ...process.argv.slice(2)].join(' ');
    const children = new ChildSet();
    const workDir = mkdtempSync(join(tmpdir(), 'dbw-bench-'));
    let stopping = false;
    const cleanup = async () => {
      await children.stopAll();
      rmSync(workDir, { recursive: true, force: true });
    };
    // Ctrl-C: the terminal also signals the load generators, but the proxies must not outlive us either.
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      spec.log(`${sig}: stopping child processes`);
      void cleanup().finally(() => process.exit(130));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('exit', () => children.killAllNow());
    try {
      const out = await spec.body({ opts, command, children, workDir, started: Date.now(), loadAtStart: loadavg()[0]! });
      process.stdout.write(`\n${out.text}\n`);
      if (opts.writeResults) {
        const existing = existsSync(spec.resultsFile) ? readFileSync(spec.resultsFile, 'utf8') : '# dbwarden benchmark results\n';
        writeFileSync(spec.resultsFile, out.updateResults(existing));
        spec.log(`wrote ${spec.resultsFile}`);
      }
      return 0;
    } finally {
      if (!stopping) await cleanup();
    }
  };
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      spec.log(`failed: ${(e as Error).stack ?? String(e)}`);
      process.exitCode = 1;
    },
  );
}
