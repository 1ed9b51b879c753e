// Name globs for rule conditions: `*` stays within one dot-separated segment, `**` spans segments.

const compiled = new Map<string, RegExp>();

function toRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (re === undefined) {
    let src = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c === '*' && pattern[i + 1] === '*') {
        src += '.*';
        i++;
      } else if (c === '*') {
        src += '[^.]*';
      } else {
        src += c.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
      }
    }
    re = new RegExp(`^${src}$`, 'i');
    compiled.set(pattern, re);
  }
  return re;
}

/** Whole-string glob, case-insensitive (targets, groups). */
export function globMatch(pattern: string, value: string): boolean {
  return toRegExp(pattern).test(value);
}

/**
 * Matches a dotted name (`schema.table`, `schema.table.column`, `table.column`, `column`).
 * - A name with fewer parts than the pattern (unqualified) matches when the missing leading parts
 *   are wildcards: `t` matches `*.t` and `t`; `users.email` matches `*.*.email`.
 * - A pattern with fewer parts than the name matches the name's trailing parts: `users` matches
 *   `public.users`, `email` matches `public.users.email`.
 */
export function matchName(pattern: string, name: string): boolean {
  if (toRegExp(pattern).test(name)) return true;
  if (pattern.includes('**')) {
    // `**.email` also matches a bare `email`
    return pattern.startsWith('**.') && matchName(pattern.slice(3), name);
  }
  const ps = pattern.split('.');
  const ns = name.split('.');
  if (ns.length > ps.length) return toRegExp(pattern).test(ns.slice(-ps.length).join('.'));
  if (ns.length < ps.length) {
    const k = ps.length - ns.length;
    if (ps.slice(0, k).every((s) => s === '*')) return toRegExp(ps.slice(k).join('.')).test(name);
  }
  return false;
}

/**
 * Column facts may be `table.*` / `*` (SELECT *): such a fact matches a column pattern whenever the
 * table part could be the same, because the star may well include the protected column.
 */
export function matchColumn(pattern: string, column: string): boolean {
  if (column === '*') return true;
  if (column.endsWith('.*')) {
    const table = column.slice(0, -2);
    const dot = pattern.lastIndexOf('.');
    if (dot < 0) return true;
    const tablePattern = pattern.slice(0, dot);
    return tablePattern === '**' || matchName(tablePattern, table);
  }
  return matchName(pattern, column);
}

/** Function names: case-insensitive, a schema on either side is optional. */
export function matchFunction(pattern: string, name: string): boolean {
  if (matchName(pattern, name)) return true;
  const dot = pattern.lastIndexOf('.');
  return !name.includes('.') && dot >= 0 && toRegExp(pattern.slice(dot + 1)).test(name);
}
