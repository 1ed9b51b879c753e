// The soak (bench/soak.ts) at scale: starts a throwaway PostgreSQL 15 cluster and a throwaway MariaDB with
// max_connections above the session count (the shared dev servers allow ~100), then runs the same churn of grants
// under a mixed read/write workload on both protocols and prints the report as JSON.
//
//   ulimit -n 20000; nice -n 5 npx tsx bench/soak-scale.ts --minutes 10 --sessions 1000 --think 500
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startScratchCluster } from '../test/helpers/scratch-cluster.js';
import { startScratchMariadb } from '../test/helpers/scratch-mariadb.js';
import { percentile, runSoak } from './soak.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      sessions: { type: 'string', default: '1000' },
      think: { type: 'string', default: '500' },
    },
  });
  const sessions = Number(values.sessions);
  const started = Date.now();
  // upstream connections: one per broker session, plus the soak's own admin clients and some headroom
  const [pgc, my] = await Promise.all([
    startScratchCluster({ auth: 'scram-sha-256', maxConnections: sessions + 100, sharedBuffers: '128MB' }),
    startScratchMariadb({ maxConnections: sessions + 100 }),
  ]);
  try {
    const adminPw = 'adm-' + Math.random().toString(36).slice(2);
    await pgc.sql(`alter role postgres password '${adminPw}'`);
    await my.sql(`CREATE USER 'soak_admin'@'%' IDENTIFIED BY '${adminPw}'; GRANT ALL ON *.* TO 'soak_admin'@'%';`);
    const r = await runSoak({
      durationMs: Number(values.minutes) * 60_000,
      sessions,
      thinkMs: Number(values.think),
      entry: [resolve('dist/bin.js')],
      pg: { host: '127.0.0.1', port: pgc.port, database: pgc.database, rw: pgc.roles.rw, ro: pgc.roles.ro, admin: { user: 'postgres', password: adminPw } },
      mysql: { host: '127.0.0.1', port: my.port, database: my.database, rw: my.roles.rw, ro: my.roles.ro, admin: { user: 'soak_admin', password: adminPw } },
      log: (l) => console.error(`[${Math.round((Date.now() - started) / 1000)}s] ${l}`),
    });
    const distOf = (lat: number[]) => ({ n: lat.length, p50: percentile(lat, 50), p90: percentile(lat, 90), p95: percentile(lat, 95), p99: percentile(lat, 99), max: Math.max(0, ...lat), over1s: lat.filter((x) => x >= 1000).length });
    const lat = r.endLatencies;
    const dist = { n: lat.length, p50: percentile(lat, 50), p90: percentile(lat, 90), p95: percentile(lat, 95), p99: percentile(lat, 99), max: Math.max(0, ...lat), over1s: lat.filter((x) => x >= 1000).length };
    console.log(JSON.stringify({ ...r, endLatencies: undefined, endLatency: dist, wrongEnds: r.wrongEnds.slice(0, 20), wrongEndsCount: r.wrongEnds.length, missedEnds: r.missedEnds.slice(0, 20), missedEndsCount: r.missedEnds.length, releaseLatencies: undefined, brokerEndLatency: distOf(r.releaseLatencies), slowEnds: r.slowEnds.slice(0, 40), slowEndsCount: r.slowEnds.length }, null, 2));
  } finally {
    await Promise.allSettled([pgc.close(), my.close()]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
