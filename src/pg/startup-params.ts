// Which client startup parameters reach the upstream. Every startup parameter other than user/database is a
// server setting applied before the first statement, out of sight of the rules: an allow-list keeps a client
// from switching role or session authorization (or loading libraries) that way.
const ALLOWED = new Set([
  'application_name', 'client_encoding', 'datestyle', 'timezone', 'extra_float_digits', 'intervalstyle',
  'search_path', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'bytea_output',
  'default_transaction_isolation', 'default_transaction_read_only', 'geqo', 'jit', 'work_mem', 'lc_monetary',
  'lc_numeric', 'lc_time', 'standard_conforming_strings', 'client_min_messages', 'datestyle', 'enable_seqscan',
  'default_text_search_config', 'row_security',
]);

const DROPPED = new Set(['user', 'database', 'replication']);

function parseOptions(text: string): [string, string][] | string {
  // libpq splits on unescaped whitespace; backslash escapes the next character
  const words: string[] = [];
  let cur = '';
  let esc = false;
  let any = false;
  for (const ch of text) {
    if (esc) { cur += ch; esc = false; any = true; continue; }
    if (ch === '\\') { esc = true; continue; }
    if (/\s/.test(ch)) { if (any) words.push(cur); cur = ''; any = false; continue; }
    cur += ch; any = true;
  }
  if (any) words.push(cur);
  const out: [string, string][] = [];
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    if (w === '-c') {
      w = words[++i] ?? '';
    } else if (w.startsWith('-c')) {
      w = w.slice(2);
    } else if (w.startsWith('--')) {
      w = w.slice(2);
    } else {
      return `startup option "${w}" is not allowed`;
    }
    const eq = w.indexOf('=');
    if (eq <= 0) return `malformed startup option "${w}"`;
    out.push([w.slice(0, eq).replace(/-/g, '_'), w.slice(eq + 1)]);
  }
  return out;
}

export function sanitizeStartupParams(params: Map<string, string>): { ok: true; params: Map<string, string> } | { ok: false; error: string } {
  const out = new Map<string, string>();
  for (const [k, v] of params) {
    if (DROPPED.has(k)) continue;
    if (k === 'options') {
      const opts = parseOptions(v);
      if (typeof opts === 'string') return { ok: false, error: opts };
      for (const [name] of opts) {
        if (!ALLOWED.has(name.toLowerCase())) return { ok: false, error: `startup option "${name}" is not allowed through the broker` };
      }
      if (opts.length) out.set('options', v);
      continue;
    }
    if (!ALLOWED.has(k.toLowerCase())) return { ok: false, error: `startup parameter "${k}" is not allowed through the broker` };
    out.set(k, v);
  }
  return { ok: true, params: out };
}
