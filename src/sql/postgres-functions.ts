// PostgreSQL function names that give a statement an effect beyond `read`, kept as data for review.
import type { Effect } from './facts.js';

// Lookups use the unqualified, lower-case name: a user-made `myschema.pg_read_file` is blocked too,
// which over-blocks rather than letting `pg_catalog.` or search_path tricks slip through.

/** Functions that change data or sequence state even inside a SELECT. */
const WRITE = [
  'nextval', 'setval',
  'lo_create', 'lo_creat', 'lo_unlink', 'lo_put', 'lo_from_bytea', 'lowrite', 'lo_truncate', 'lo_truncate64',
  'pg_notify',
  // index maintenance: summarise or clean index pages (a change on disk, also on a read grant)
  'brin_summarize_new_values', 'brin_summarize_range', 'brin_desummarize_range', 'gin_clean_pending_list',
];

/** Server administration: other sessions, configuration, WAL, replication, statistics. */
const ADMIN = [
  'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_rotate_logfile_old',
  'pg_promote', 'pg_switch_wal', 'pg_switch_xlog', 'pg_create_restore_point',
  'pg_backup_start', 'pg_backup_stop', 'pg_start_backup', 'pg_stop_backup',
  'pg_wal_replay_pause', 'pg_wal_replay_resume', 'pg_xlog_replay_pause', 'pg_xlog_replay_resume',
  'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot', 'pg_drop_replication_slot',
  'pg_replication_slot_advance', 'pg_copy_physical_replication_slot', 'pg_copy_logical_replication_slot',
  'pg_logical_slot_get_changes', 'pg_logical_slot_peek_changes', 'pg_logical_slot_get_binary_changes',
  'pg_logical_slot_peek_binary_changes', 'pg_logical_emit_message', 'pg_sync_replication_slots',
  'pg_replication_origin_create', 'pg_replication_origin_drop', 'pg_replication_origin_advance',
  'pg_replication_origin_session_setup', 'pg_replication_origin_session_reset', 'pg_replication_origin_xact_setup',
  'pg_log_backend_memory_contexts', 'pg_log_standby_snapshot', 'pg_import_system_collations',
  'pg_stat_reset', 'pg_stat_reset_shared', 'pg_stat_reset_single_table_counters',
  'pg_stat_reset_single_function_counters', 'pg_stat_reset_slru', 'pg_stat_reset_replication_slot',
  'pg_stat_reset_subscription_stats', 'pg_stat_statements_reset', 'pg_stat_reset_backend_stats',
  // pg_surgery: kills or freezes tuples below MVCC, constraints and triggers
  'heap_force_kill', 'heap_force_freeze',
];

/** Server-side file system access (read, list, write) and large-object import/export. */
const FILE = [
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'lo_import', 'lo_export',
  'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir', 'pg_ls_archive_statusdir', 'pg_ls_logicalsnapdir',
  'pg_ls_logicalmapdir', 'pg_ls_replslotdir', 'pg_ls_summariesdir',
  // adminpack
  'pg_file_write', 'pg_file_rename', 'pg_file_unlink', 'pg_file_sync', 'pg_logdir_ls',
];

/** Functions that run SQL handed to them as a string, or on another server: invisible to the parser. */
const DYNAMIC = [
  'query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema',
  'ts_stat', 'ts_rewrite',
  // tablefunc: the source query (and crosstab's category query) is SQL text run by the function
  'connectby',
  // refint: trigger functions that build and run SQL from their arguments
  'check_primary_key', 'check_foreign_key',
  // xml2: xpath_table builds and runs a query from its table, key and condition arguments
  'xpath_table',
];
/** Prefixes with the same meaning (dblink, dblink_exec, dblink_open, …). */
const DYNAMIC_PREFIXES = ['dblink', 'crosstab'];

/** Session-state functions; set_config of a privilege setting is handled as admin + dcl below. */
const SESSION = ['set_config', 'pg_advisory_lock', 'pg_advisory_unlock_all'];

/** set_config / SET of these changes who the session acts as. */
export const PRIVILEGE_SETTINGS = new Set(['role', 'session_authorization']);
/** SET of these needs superuser and changes server-wide behaviour (e.g. disables triggers). */
export const ADMIN_SETTINGS = new Set(['session_replication_role']);

const BY_NAME = new Map<string, Effect>();
for (const [list, effect] of [[WRITE, 'write'], [ADMIN, 'admin'], [FILE, 'file'], [DYNAMIC, 'dynamic'], [SESSION, 'session']] as const) {
  for (const name of list) BY_NAME.set(name, effect);
}

/** Effect a call to `name` (lower-case, possibly schema-qualified) adds, or undefined for plain reads. */
export function functionEffect(name: string): Effect | undefined {
  const dot = name.lastIndexOf('.');
  const base = dot >= 0 ? name.slice(dot + 1) : name;
  const known = BY_NAME.get(base);
  if (known) return known;
  for (const prefix of DYNAMIC_PREFIXES) if (base.startsWith(prefix)) return 'dynamic';
  return undefined;
}

/** The lists, for docs and tests. */
export const FUNCTION_EFFECTS = { write: WRITE, admin: ADMIN, file: FILE, dynamic: DYNAMIC, session: SESSION } as const;
