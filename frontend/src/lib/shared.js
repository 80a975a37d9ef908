/**
 * Names and rules the page applies exactly as the server does: file-name rules, flash-state sentences and revision
 * kinds. The server sends them with the page (page config `rules`); nothing here keeps a copy of its own.
 */

const rules = {
  fileNamePattern: null,
  allowedExtensions: [],
  forbiddenNames: {},
  flashStates: {},
  revisionKinds: {},
  handOutKinds: [],
};

/** Take the server's rules (once, when the page starts). */
export function configureShared(serverRules = {}) {
  Object.assign(rules, serverRules);
  rules.fileNamePattern = serverRules.fileNamePattern ? new RegExp(serverRules.fileNamePattern) : null;
}

export function sharedRules() {
  return rules;
}
