/**
 * A string literal for text the store makes itself (file paths, generated ids), where a statement
 * cannot take a bind parameter or one costs trips the statement must not make. Never user input.
 */
export function sqlText(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
