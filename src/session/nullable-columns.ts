// Which columns of the target's tables may hold NULL, from a catalog snapshot (pg/function-catalog.ts,
// mysql/catalog.ts), for writes whose WHERE tests columns only for NULL (session.ts nullScoped). Only positive
// knowledge counts: a column is nullable when every table the written name may mean lists it as nullable; a name
// or column the snapshot does not hold (a view, a table created since, a temporary table) is not known nullable,
// and the write stays not proven scoped (fail closed).

export class NullableColumns {
  /** schema.table → nullable columns */
  private readonly byKey = new Map<string, Set<string>>();
  /** table → its schema.table keys (an unqualified name may mean any of them) */
  private readonly byName = new Map<string, string[]>();

  /** `caseless`: MySQL compares column names (and, for safety, table names) without case */
  constructor(rows: Iterable<readonly [string, string, string]>, private readonly caseless = false) {
    for (const [schema, table, column] of rows) {
      const key = this.fold(`${schema}.${table}`);
      let set = this.byKey.get(key);
      if (!set) {
        this.byKey.set(key, (set = new Set()));
        const name = this.fold(table);
        this.byName.set(name, [...(this.byName.get(name) ?? []), key]);
      }
      set.add(this.fold(column));
    }
  }

  private fold(s: string): string {
    return this.caseless ? s.toLowerCase() : s;
  }

  /** `table` as the facts name it (schema.table or table; quotes and backticks stripped). */
  nullable(table: string, column: string): boolean {
    const parts = table.replace(/["`]/g, '').split('.');
    const keys = parts.length >= 2 ? [this.fold(`${parts[parts.length - 2]}.${parts[parts.length - 1]}`)] : this.byName.get(this.fold(parts[0]!)) ?? [];
    const col = this.fold(column);
    return keys.length > 0 && keys.every((k) => this.byKey.get(k)?.has(col) === true);
  }
}
