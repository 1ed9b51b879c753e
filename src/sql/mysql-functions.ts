// MySQL/MariaDB function and variable names that give a statement an effect beyond `read`, kept as data for review.
import type { Effect } from './facts.js';

// Lookups use the unqualified, lower-case name, so `mydb.sys_exec` is caught like `sys_exec`:
// over-blocking a user function of the same name is the price of not missing a loadable one.

/** Server-side file access: reads files as the server's OS user (secure_file_priv permitting). */
const FILE = ['load_file'];

/**
 * Well-known loadable functions (UDFs) that run programs or write files on the server host
 * (lib_mysqludf_sys and friends): command execution dressed as a function call.
 */
const FILE_UDF = ['sys_exec', 'sys_eval', 'sys_get', 'sys_set', 'sys_bineval', 'do_system', 'lib_mysqludf_sys_info'];

/** Functions that change server or other-session state, or replication. */
const ADMIN = [
  'master_pos_wait', 'source_pos_wait', 'master_gtid_wait', 'wait_for_executed_gtid_set', 'wait_until_sql_thread_after_gtids',
  'release_all_locks',
  // MySQL 8 group replication / clone administration
  'group_replication_set_as_primary', 'group_replication_switch_to_single_primary_mode',
  'group_replication_switch_to_multi_primary_mode', 'group_replication_set_communication_protocol',
  'group_replication_set_write_concurrency', 'asynchronous_connection_failover_add_source',
  'asynchronous_connection_failover_delete_source', 'audit_log_filter_set_filter', 'audit_log_filter_remove_filter',
  'audit_log_filter_set_user', 'audit_log_filter_remove_user', 'audit_log_filter_flush', 'keyring_key_generate',
  'keyring_key_remove', 'keyring_key_store', 'version_tokens_set', 'version_tokens_edit', 'version_tokens_delete',
];

/** Functions that keep state in the session (named locks, sequences' session values). */
const SESSION = ['get_lock', 'release_lock', 'is_free_lock', 'is_used_lock', 'last_insert_id'];

/** Functions that change data even inside a SELECT (MariaDB sequences). */
const WRITE = ['nextval', 'setval'];

// SLEEP and BENCHMARK only burn time on the server; a statement timeout, not a guardrail, is the
// answer to them, so they stay plain reads.

const BY_NAME = new Map<string, Effect>();
for (const [list, effect] of [[FILE, 'file'], [FILE_UDF, 'file'], [ADMIN, 'admin'], [SESSION, 'session'], [WRITE, 'write']] as const) {
  for (const name of list) BY_NAME.set(name, effect);
}

/** Effect a call to `name` (lower-case, possibly db-qualified) adds, or undefined for plain reads. */
export function mysqlFunctionEffect(name: string): Effect | undefined {
  const dot = name.lastIndexOf('.');
  return BY_NAME.get(dot >= 0 ? name.slice(dot + 1) : name);
}

/**
 * Session variables whose SET needs SUPER-like privileges and changes what the server records or
 * replicates (a session that turns off the binary log hides its writes from replicas and audits).
 */
export const ADMIN_VARIABLES = new Set([
  'sql_log_bin', 'sql_log_off', 'gtid_next', 'gtid_purged', 'gtid_seq_no', 'gtid_domain_id', 'server_id',
  'pseudo_thread_id', 'pseudo_slave_mode', 'pseudo_replica_mode', 'binlog_format', 'binlog_row_image',
  'wsrep_on', 'wsrep_osu_method', 'rand_seed1', 'rand_seed2', 'skip_replication', 'debug', 'debug_dbug',
  'general_log', 'slow_query_log', 'log_bin_trust_function_creators', 'secure_file_priv', 'local_infile',
  'init_connect', 'read_only', 'super_read_only', 'offline_mode', 'event_scheduler',
]);

/** Variables whose SET changes identity or credentials. */
export const PRIVILEGE_VARIABLES = new Set(['password', 'role', 'default_role', 'authorization']);

/** Scope words and prefixes that make a SET server-wide (or persistent across restarts). */
export const GLOBAL_SCOPES = new Set(['GLOBAL', 'PERSIST', 'PERSIST_ONLY']);
export const GLOBAL_PREFIXES = ['@@GLOBAL.', '@@PERSIST.', '@@PERSIST_ONLY.'];

/** The lists, for docs and tests. */
export const MYSQL_FUNCTION_EFFECTS = { file: [...FILE, ...FILE_UDF], admin: ADMIN, session: SESSION, write: WRITE } as const;
