/**
 * A roster import's preview as the page shows it: every row with its verdict, what is wrong in words, and whether
 * the file can be imported (all rows right: the import is all or nothing). Pure: takes the server's preview reply.
 */

/**
 * @param {{valid: number, invalid: number, rows: Array<{line, product_id, name, password_given, ok, errors}>}} reply
 * @returns {{canImport: boolean, summary: string, rows: Array<{line, productId, name, password, ok, problems}>}}
 */
export function describePreview(reply) {
  const rows = (reply?.rows || []).map((row) => ({
    line: row.line,
    productId: row.product_id,
    name: row.name || '',
    password: row.password_given ? 'given' : 'generated',
    ok: Boolean(row.ok),
    problems: row.ok ? '' : (row.errors || []).join('; '),
  }));
  const bad = rows.filter((row) => !row.ok).length;
  const canImport = rows.length > 0 && bad === 0;
  return { canImport, summary: previewSummary(rows.length, bad), rows };
}

function previewSummary(total, bad) {
  if (total === 0) return 'The file has no rows.';
  const rows = `${total} row${total === 1 ? '' : 's'}`;
  if (bad === 0) return `${rows}, all right: ready to import.`;
  return `${bad} of ${rows} ${bad === 1 ? 'has' : 'have'} errors (marked below). Nothing will be imported until ` +
    'every row is right: fix the file and check it again.';
}

/** The new bots of an import as {productId: password} for the ones whose password was generated. */
export function generatedPasswords(created) {
  return Object.fromEntries((created || []).filter((bot) => bot.password).map((bot) => [bot.product_id, bot.password]));
}
