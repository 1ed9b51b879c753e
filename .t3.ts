import { init, parse } from '@guanmingchiu/sqlparser-ts';
await init();
function show(e: any): string {
  if (e?.BinaryOp) return `(${show(e.BinaryOp.left)} ${e.BinaryOp.op} ${show(e.BinaryOp.right)})`;
  if (e?.UnaryOp) return `(${e.UnaryOp.op} ${show(e.UnaryOp.expr)})`;
  if (e?.Identifier) return e.Identifier.value;
  if (e?.Value) return JSON.stringify(Object.values(e.Value.value)[0]);
  if (e?.Nested) return `[${show(e.Nested)}]`;
  if (e?.Between) return `(${show(e.Between.expr)} BETWEEN ${show(e.Between.low)} AND ${show(e.Between.high)})`;
  if (e?.IsNull) return `(${show(e.IsNull)} IS NULL)`;
  if (e?.Like) return `(${show(e.Like.expr)} LIKE ${show(e.Like.pattern)})`;
  if (e?.InList) return `(${show(e.InList.expr)} IN ...)`;
  return JSON.stringify(e).slice(0, 60);
}
for (const q of process.argv.slice(2)) {
  try { const a: any = parse('SELECT ' + q, 'mysql'); console.log(q.padEnd(30), '→', show(a[0].Query.body.Select.projection[0].UnnamedExpr)); } catch (e) { console.log(q, 'ERR', (e as Error).message.slice(0, 100)); }
}
