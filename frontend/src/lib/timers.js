/**
 * The page's timers as an object that code can take as a parameter (tests pass fake ones). Browsers refuse
 * `setTimeout` called as a method of another object ("Illegal invocation"), so each is wrapped, never stored bare.
 */
export const realTimers = {
  set: (task, ms) => setTimeout(task, ms),
  clear: (handle) => clearTimeout(handle),
};
