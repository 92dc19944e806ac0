// Column lists that the compiler checks against row types (Signal-Desktop's `satisfies` on column tuples, plus
// completeness): a column missing from the list, or a list entry that is not a row field, fails `tsc`.

type ColumnList<Row> = readonly (keyof Row & string)[];

/** The row fields a column list leaves out (never when it is complete). */
type Missing<Row, C extends ColumnList<Row>> = Exclude<keyof Row, C[number]>;

/**
 * `columnsOf<Row>()(['a', 'b'] as const)` returns the tuple unchanged, and type-checks only when it names every
 * field of `Row` and nothing else. The SQL helpers build SELECT and INSERT lists from these tuples.
 */
export function columnsOf<Row>() {
  return <const C extends ColumnList<Row>>(
    columns: C & ([Missing<Row, C>] extends [never] ? unknown : { readonly missingColumns: Missing<Row, C> }),
  ): C => columns;
}

/** `a, b, c` or, with an alias, `t.a, t.b, t.c`. */
export function selectList(columns: readonly string[], alias?: string): string {
  return columns.map((c) => (alias ? `${alias}.${c}` : c)).join(', ');
}

/** `INSERT INTO table (a, b) VALUES (@a, @b)` for better-sqlite3's named parameters. */
export function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`;
}
