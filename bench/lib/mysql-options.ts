// Command-line options of bench/mysql-bench.ts, with the defaults of a full run and of --quick.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MYSQL_PATHS, PS_MODES, SYSBENCH_TESTS, type MysqlPathName, type PsMode, type SysbenchTest } from './mysql-results.js';

export const MYSQL_HELP = `npx tsx bench/mysql-bench.ts [options]
  --quick              smoke run under ~90 s (2 s runs, 2 rounds)
  --seconds N          sysbench --time of each run (default 4)
  --warmup N           untimed sysbench seconds per path, test, ps-mode and thread count before the first round,
                       so the proxies' JIT has compiled what the rounds run (default 3; --quick 1)
  --rounds N           interleaved rounds per configuration, median reported (default 3, minimum 2)
  --tests LIST         sysbench tests (default oltp_point_select,oltp_read_only)
  --threads LIST       sysbench --threads values (default 1,16)
  --ps-modes LIST      sysbench --db-ps-mode values: auto (prepared) and/or disable (text) (default auto,disable)
  --paths LIST         any of direct,relay,dbwarden (default all; relay = bare Node net pipe)
  --rulesets LIST      rule sets of the broker's target (default safe-defaults)
  --fresh              drop and re-create the sysbench tables
  --no-results         do not rewrite the MySQL section of bench/RESULTS.md
  --cpu-prof DIR       write the broker's V8 CPU profile (.cpuprofile) into DIR when it stops
  --help               this text
`;

export interface MysqlBenchOptions {
  help: boolean;
  quick: boolean;
  seconds: number;
  /** untimed seconds per path, test, ps-mode and thread count before round 1 */
  warmup: number;
  rounds: number;
  tests: SysbenchTest[];
  threads: number[];
  psModes: PsMode[];
  paths: MysqlPathName[];
  rulesets: string[];
  fresh: boolean;
  writeResults: boolean;
  cpuProfDir?: string;
}

export function parseMysqlOptions(argv: string[]): MysqlBenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      tests: { type: 'string' },
      threads: { type: 'string' },
      'ps-modes': { type: 'string' },
      paths: { type: 'string' },
      rulesets: { type: 'string', default: 'safe-defaults' },
      fresh: { type: 'boolean', default: false },
      'no-results': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const list = (s: string | undefined, dflt: string) => (s ?? dflt).split(',').map((x) => x.trim()).filter(Boolean);
  const int = (s: string | undefined, dflt: number, name: string) => {
    const n = s === undefined ? dflt : Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${s}`);
    return n;
  };
  const oneOf = <T extends string>(items: string[], allowed: readonly T[], name: string): T[] => {
    for (const x of items) if (!(allowed as readonly string[]).includes(x)) throw new Error(`--${name}: unknown ${x} (expected ${allowed.join(', ')})`);
    if (items.length === 0) throw new Error(`--${name} is empty`);
    return items as T[];
  };
  const quick = values.quick;
  return {
    help: values.help,
    quick,
    seconds: int(values.seconds, quick ? 2 : 4, 'seconds'),
    warmup: int(values.warmup, quick ? 1 : 3, 'warmup'),
    // one round cannot show whether a difference is noise; the median of two is their mean
    rounds: Math.max(2, int(values.rounds, quick ? 2 : 3, 'rounds')),
    tests: oneOf(list(values.tests, SYSBENCH_TESTS.join(',')), SYSBENCH_TESTS, 'tests'),
    threads: list(values.threads, '1,16').map((t) => int(t, 1, 'threads')),
    psModes: oneOf(list(values['ps-modes'], PS_MODES.join(',')), PS_MODES, 'ps-modes'),
    paths: oneOf(list(values.paths, MYSQL_PATHS.join(',')), MYSQL_PATHS, 'paths'),
    rulesets: list(values.rulesets, ''),
    fresh: values.fresh,
    writeResults: !values['no-results'],
    cpuProfDir: values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined,
  };
}
