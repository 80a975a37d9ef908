/**
 * Passwords the server returned once (a roster import, a new bot, a reset), kept in this browser tab until the
 * class's credential cards have shown them, then forgotten. `storage` is any Web Storage (sessionStorage).
 */

const PREFIX = 'webide.card-passwords.';

/** Add {productId: password} entries for a class (later ones replace earlier ones for the same bot). */
export function rememberPasswords(storage, className, passwords) {
  if (!Object.keys(passwords).length) return;
  const key = PREFIX + className;
  const known = readEntries(storage, key);
  storage.setItem(key, JSON.stringify({ ...known, ...passwords }));
}

/** The class's remembered passwords, removed from storage: each is shown once. */
export function takePasswords(storage, className) {
  const key = PREFIX + className;
  const known = readEntries(storage, key);
  storage.removeItem(key);
  return known;
}

function readEntries(storage, key) {
  try {
    const value = JSON.parse(storage.getItem(key) || '{}');
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}
