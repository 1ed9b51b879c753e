// docker-compose.yml, the Dockerfile and deploy/ read together: the broker config is valid under the schema and the
// files agree on paths, ports and environment variables (Docker does not run here, so this is the check we have).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/load.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const configText = readFileSync('deploy/dbwarden.compose.yaml', 'utf8');
const broker = compose.services.dbwarden!;
const ENV = {
  DBWARDEN_STORE: 'redis',
  POSTGRES_PASSWORD: 'pg-secret',
  MYSQL_ROOT_PASSWORD: 'my-secret',
  APP_RO_PASSWORD: 'ro-secret',
  APP_RW_PASSWORD: 'rw-secret',
  ALICE_TOKEN_SHA256: 'a'.repeat(64),
  BOB_TOKEN_SHA256: 'b'.repeat(64),
};

describe('deploy/dbwarden.compose.yaml', () => {
  it('loads under the config schema with the compose environment', () => {
    const c = loadConfig('deploy/dbwarden.compose.yaml', ENV);
    expect(c.state).toEqual({ dir: '/var/lib/dbwarden', store: 'redis', redis: { mode: 'standalone', url: 'redis://redis:6379/0' } });
    expect(Object.keys(c.targets)).toEqual(['app', 'shop']);
    expect(c.targets.app).toMatchObject({ protocol: 'postgres', host: 'postgres', port: 5432, databases: ['app'] });
    expect(c.targets.shop).toMatchObject({ protocol: 'mysql', host: 'mysql', port: 3306, databases: ['shop'] });
    expect(c.targets.app!.roles.admin).toEqual({ user: 'postgres', password: 'pg-secret' });
    expect(c.identities.bob!.groups).toEqual(['dba']);
  });

  it('also loads with the embedded store', () => {
    expect(loadConfig('deploy/dbwarden.compose.yaml', { ...ENV, DBWARDEN_STORE: 'embedded' }).state.store).toBe('embedded');
  });

  it('gets every ${VAR} it uses from the dbwarden service environment', () => {
    const used = new Set([...configText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!));
    expect([...used].sort()).toEqual(Object.keys(ENV).sort());
    for (const v of used) expect(Object.keys(broker.environment ?? {})).toContain(v);
  });

  it('writes no secret into the file', () => {
    expect(configText).not.toMatch(/password:\s*"?[^"$\s}]/);
    expect(configText).not.toMatch(/tokenSha256:\s*"?[0-9a-f]{64}/);
  });
});

describe('docker-compose.yml', () => {
  it('has the five services with the requested images', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['dbwarden', 'grafana', 'mysql', 'postgres', 'prometheus', 'redis']);
    expect(compose.services.postgres!.image).toBe('postgres:16');
    expect(compose.services.mysql!.image).toBe('mysql:8');
    expect(compose.services.redis!.image).toBe('redis:7');
    expect(broker.build).toBe('.');
  });

  it('serves the mounted config and publishes the broker ports the config listens on, on loopback only', () => {
    const c = loadConfig('deploy/dbwarden.compose.yaml', ENV);
    const configFlag = broker.command![broker.command!.indexOf('--config') + 1];
    expect(broker.volumes).toContain(`./deploy/dbwarden.compose.yaml:${configFlag}:ro`);
    expect(broker.volumes).toContain('./rules:/etc/dbwarden/rules:ro');
    expect(broker.volumes!.some((v) => v.endsWith(`:${c.state.dir}`))).toBe(true);
    for (const addr of [c.listen.postgres, c.listen.mysql, c.listen.admin]) {
      const port = addr!.split(':').pop();
      expect(broker.ports).toContain(`127.0.0.1:${port}:${port}`);
    }
    expect(['7432', '7306', '7080'].every((p) => broker.ports!.some((x) => x.endsWith(`:${p}`)))).toBe(true);
  });

  it('does not publish the databases or redis', () => {
    for (const name of ['postgres', 'mysql', 'redis']) expect(compose.services[name]!.ports).toBeUndefined();
  });

  it('starts the broker after healthy databases and redis', () => {
    expect(broker.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, mysql: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  });

  it('declares every named volume it mounts', () => {
    for (const s of Object.values(compose.services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (!src.startsWith('.')) expect(Object.keys(compose.volumes)).toContain(src);
      }
    }
  });

  it('points Prometheus at the broker admin port', () => {
    const prom = parse(readFileSync('deploy/prometheus.yml', 'utf8')) as { scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[] };
    const job = prom.scrape_configs[0]!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs[0]!.targets).toEqual(['dbwarden:7080']);
    expect(compose.services.prometheus!.volumes).toContain('./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(compose.services.prometheus!.volumes).toContain('./deploy/alerts.yml:/etc/prometheus/alerts.yml:ro');
    expect((prom as unknown as { rule_files: string[] }).rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    expect(compose.services.grafana!.volumes).toContain('./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');

  it('builds on node:20-slim with npm ci and npm run build, and serves the compose config path by default', () => {
    expect(dockerfile).toMatch(/^FROM node:20-slim AS build$/m);
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "dist/bin.js"]');
    expect(dockerfile).toContain('CMD ["serve", "--config", "/etc/dbwarden/dbwarden.yaml"]');
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('copies only files the build context keeps', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(copied.length).toBeGreaterThan(0);
    for (const src of copied) expect(ignored).not.toContain(src);
  });
});
