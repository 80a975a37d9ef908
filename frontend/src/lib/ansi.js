/** Remove ANSI escape sequences (colours, cursor moves) so terminal text can be searched and copied plainly. */
export function stripAnsi(text) {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '');
}
