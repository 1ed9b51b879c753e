// Test helper: real Redis topologies on loopback ports, started from the redis-server binary and stopped by PID —
// a Sentinel set-up (one primary, one replica, three sentinels) and a Cluster (three primaries).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './scratch-cluster.js';

interface Proc {
  port: number;
  child: ChildProcess;
}

function startRedis(dir: string, name: string, port: number, lines: string[], sentinel = false): Proc {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', 'save ""', 'appendonly no', `dir ${dir}`, 'protected-mode no', ...lines, ''].join('\n'));
  const child = spawn('redis-server', sentinel ? [conf, '--sentinel'] : [conf], { stdio: 'ignore' });
  return { port, child };
}

async function ping(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined); // refused while the server starts: retried below
    try {
      await r.connect();
      await r.ping();
      return;
    } catch (e) {
      if (Date.now() > until) throw new Error(`redis on ${port} did not answer: ${(e as Error).message}`);
      await new Promise((res) => setTimeout(res, 100));
    } finally {
      r.disconnect();
    }
  }
}

async function stopAll(procs: Proc[]): Promise<void> {
  await Promise.all(procs.map(async (p) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    const exited = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }));
}

export interface SentinelSetup {
  name: string;
  primary: Proc;
  replica: Proc;
  sentinels: Proc[];
  /** the `state.redis` setting for it */
  setting: Record<string, unknown>;
  /** port of the primary Sentinel reports now */
  currentPrimaryPort(): Promise<number>;
  /** kills the current primary (SIGKILL, no goodbye) and waits until Sentinel has promoted the replica */
  failover(): Promise<void>;
  close(): Promise<void>;
}

export async function startSentinelSetup(): Promise<SentinelSetup> {
  const dir = mkdtempSync('/tmp/dbw-sentinel-');
  const name = 'dbwprimary';
  const [pPort, rPort, ...sPorts] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const primary = startRedis(dir, 'primary', pPort!, []);
  const replica = startRedis(dir, 'replica', rPort!, [`replicaof 127.0.0.1 ${pPort}`]);
  await Promise.all([ping(pPort!), ping(rPort!)]);
  const sentinels = sPorts.map((port, i) => startRedis(dir, `sentinel${i}`, port, [
    `sentinel monitor ${name} 127.0.0.1 ${pPort} 2`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 5000`,
    `sentinel parallel-syncs ${name} 1`,
  ], true));
  await Promise.all(sentinels.map((s) => ping(s.port)));
  // wait until the replica has synced, so a failover has data to promote
  const until = Date.now() + 15_000;
  for (;;) {
    const r = new Redis({ host: '127.0.0.1', port: rPort! });
    const info = await r.info('replication');
    r.disconnect();
    if (/master_link_status:up/.test(info)) break;
    if (Date.now() > until) throw new Error('replica never synced');
    await new Promise((res) => setTimeout(res, 100));
  }
  // a failover needs the sentinels to know each other (a majority must agree) and the replica: wait until they do
  const known = Date.now() + 30_000;
  for (;;) {
    const views = await Promise.all(sentinels.map(async (sp) => {
      const c = new Redis({ host: '127.0.0.1', port: sp.port });
      try {
        const peers = (await c.call('SENTINEL', 'sentinels', name)) as unknown[];
        const replicas = (await c.call('SENTINEL', 'replicas', name)) as unknown[];
        return peers.length >= 2 && replicas.length >= 1;
      } finally {
        c.disconnect();
      }
    }));
    if (views.every(Boolean)) break;
    if (Date.now() > known) throw new Error('sentinels never discovered each other and the replica');
    await new Promise((res) => setTimeout(res, 200));
  }
  const all = [primary, replica, ...sentinels];
  const currentPrimaryPort = async () => {
    const s = new Redis({ host: '127.0.0.1', port: sentinels[0]!.port });
    try {
      const addr = (await s.call('SENTINEL', 'get-master-addr-by-name', name)) as string[];
      return Number(addr[1]);
    } finally {
      s.disconnect();
    }
  };
  return {
    name,
    primary,
    replica,
    sentinels,
    setting: { sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`), name },
    currentPrimaryPort,
    async failover() {
      const before = await currentPrimaryPort();
      const victim = all.find((p) => p.port === before)!;
      victim.child.kill('SIGKILL');
      const deadline = Date.now() + 45_000;
      while ((await currentPrimaryPort()) === before) {
        if (Date.now() > deadline) throw new Error('sentinel did not fail over');
        await new Promise((res) => setTimeout(res, 200));
      }
    },
    async close() {
      await stopAll(all);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterSetup {
  nodes: Proc[];
  setting: Record<string, unknown>;
  close(): Promise<void>;
}

/** Three primaries, slots split evenly, no replicas (enough to spread keys and pub/sub across nodes). */
export async function startRedisCluster(): Promise<RedisClusterSetup> {
  const dir = mkdtempSync('/tmp/dbw-rcluster-');
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const nodes = ports.map((port, i) => startRedis(dir, `node${i}`, port, ['cluster-enabled yes', `cluster-config-file nodes-${port}.conf`, 'cluster-node-timeout 2000']));
  await Promise.all(ports.map((p) => ping(p)));
  const clients = ports.map((port) => new Redis({ host: '127.0.0.1', port }));
  try {
    const per = Math.ceil(16384 / ports.length);
    await Promise.all(clients.map((c, i) => {
      const from = i * per;
      const to = Math.min(16383, from + per - 1);
      const slots: number[] = [];
      for (let s = from; s <= to; s++) slots.push(s);
      return c.call('CLUSTER', 'ADDSLOTS', ...slots.map(String));
    }));
    for (const port of ports.slice(1)) await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(port));
    const until = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO') as Promise<string>));
      if (infos.every((i) => /cluster_state:ok/.test(i) && /cluster_known_nodes:3/.test(i))) break;
      if (Date.now() > until) throw new Error('redis cluster never became ok');
      await new Promise((res) => setTimeout(res, 200));
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
  return {
    nodes,
    setting: { cluster: ports.map((p) => `127.0.0.1:${p}`) },
    async close() {
      await stopAll(nodes);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
