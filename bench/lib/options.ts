// Command-line options of bench/pg-bench.ts, with the defaults of a full run and of --quick.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PATHS, type PathName, type PgbenchRow } from './results.js';

export const MODES = ['simple', 'extended', 'prepared', 'connect'] as const;
type Mode = PgbenchRow['mode'];

export const HELP = `npx tsx bench/pg-bench.ts [options]
  --quick              smoke run under ~90 s (2 s runs, modes simple+prepared, one throughput round)
  --seconds N          length of each pgbench run (default 4)
  --rounds N           interleaved rounds per pgbench configuration, median reported (default 3, minimum 2)
  --warmup N           untimed pgbench seconds per path, mode and client count before the first round, so the
                       proxies' JIT has compiled what the rounds run (default 3; --quick 1)
  --modes LIST         pgbench -M modes, and connect (-M simple -C: a login per transaction) (default all four)
  --masked-column      add a text column 'email' to pgbench_accounts (not selected by pgbench); with
                       --rulesets safe-defaults,pii-masking this measures masking in force on a masked table
  --masked-select      with --masked-column: also stream a table 'big_masked' (the big table plus an 'email'
                       column) with SELECT *, so the masked column is selected and masked on every row
  --tls                client-side TLS (sslmode=require) on the relay and dbwarden paths, with one self-signed
                       certificate pair for both; direct and pgbouncer stay plaintext (reference only)
  --clients LIST       pgbench client counts (default 1,16)
  --paths LIST         any of direct,relay,dbwarden,pgbouncer (default all; relay = bare Node net pipe)
  --rulesets LIST      rule sets of the broker's target (default safe-defaults)
  --rows N             rows in the throughput table (default 3000000; another count rebuilds it)
  --fresh              rebuild the pgbench tables and the big table
  --no-throughput      skip the COPY / SELECT streaming part
  --no-results         do not rewrite bench/RESULTS.md
  --cpu-prof DIR       write the broker's V8 CPU profile (.cpuprofile) into DIR when it stops
  --spares N           the broker target's upstreamSpares (spare upstream connections per login key; default 0 = off)
  --help               this text
`;

export interface BenchOptions {
  help: boolean;
  quick: boolean;
  seconds: number;
  /** untimed seconds per path, mode and client count before round 1 */
  warmup: number;
  rounds: number;
  throughputRounds: number;
  modes: Mode[];
  clients: number[];
  paths: PathName[];
  rulesets: string[];
  rows: number;
  fresh: boolean;
  throughput: boolean;
  writeResults: boolean;
  cpuProfDir?: string;
  maskedColumn: boolean;
  maskedSelect: boolean;
  tls: boolean;
  /** the broker target's upstreamSpares; 0 = the product default (off) */
  upstreamSpares: number;
}

/** Throws with a one-line message on a bad value, so the script can print it next to --help. */
export function parseOptions(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      modes: { type: 'string' },
      clients: { type: 'string' },
      paths: { type: 'string' },
      rulesets: { type: 'string', default: 'safe-defaults' },
      rows: { type: 'string', default: '3000000' },
      fresh: { type: 'boolean', default: false },
      'no-throughput': { type: 'boolean', default: false },
      'no-results': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'masked-column': { type: 'boolean', default: false },
      'masked-select': { type: 'boolean', default: false },
      tls: { type: 'boolean', default: false },
      spares: { type: 'string' },
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
    throughputRounds: quick ? 1 : 2,
    modes: oneOf(list(values.modes, quick ? 'simple,prepared' : MODES.join(',')), MODES, 'modes'),
    clients: list(values.clients, '1,16').map((c) => int(c, 1, 'clients')),
    paths: oneOf(list(values.paths, PATHS.join(',')), PATHS, 'paths'),
    rulesets: list(values.rulesets, ''),
    rows: int(values.rows, 3_000_000, 'rows'),
    fresh: values.fresh,
    throughput: !values['no-throughput'],
    writeResults: !values['no-results'],
    cpuProfDir: values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined,
    maskedColumn: values['masked-column'] || values['masked-select'],
    maskedSelect: values['masked-select'],
    tls: values.tls,
    upstreamSpares: values.spares === undefined || values.spares === '0' ? 0 : int(values.spares, 0, 'spares'),
  };
}
