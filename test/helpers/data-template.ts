// Test helper: a pristine server data folder (initdb, mariadb-install-db) built once and kept under /tmp between
// runs: building takes seconds, copying it a fraction of one.
import { chownSync, existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface TemplateSpec {
  /** where the finished template lives, e.g. /tmp/dbw-scratch-pg15-template */
  path: string;
  /** a file inside `<path>/data` that exists only once the build finished */
  readyFile: string;
  /** owner of the files (the server's OS user) */
  ids: { uid: number; gid: number };
  /** writes a fresh data folder into `dataDir` */
  build(dataDir: string): Promise<unknown>;
}

const builds = new Map<string, Promise<string>>();

/**
 * Returns `<path>/data`, building it if needed. Built into a temp folder and renamed into place, so test files
 * starting servers at the same time never see a half-written template; servers started together in one process
 * share one build.
 */
export function dataTemplate(spec: TemplateSpec): Promise<string> {
  let p = builds.get(spec.path);
  if (!p) {
    p = build(spec).catch((e) => {
      builds.delete(spec.path);
      throw e;
    });
    builds.set(spec.path, p);
  }
  return p;
}

async function build(spec: TemplateSpec): Promise<string> {
  const data = join(spec.path, 'data');
  // a template planted by another user is not used: it would run their configuration as the server's user
  if (existsSync(join(data, spec.readyFile)) && statSync(spec.path).uid === spec.ids.uid) return data;
  const dir = mkdtempSync(`${spec.path}-build-`);
  chownSync(dir, spec.ids.uid, spec.ids.gid);
  await spec.build(join(dir, 'data'));
  try {
    renameSync(dir, spec.path);
  } catch {
    // another process got there first; its template is as good as ours
    rmSync(dir, { recursive: true, force: true });
  }
  return data;
}
