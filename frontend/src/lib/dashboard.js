/**
 * The class dashboard's pure logic: presence from the last heartbeat, "N edits behind", live changes applied to a
 * bot's row, filters and sort orders, the error map and the bounded sensor series. No DOM here.
 */

export const FILTERS = ['all', 'errors', 'offline', 'behind'];
export const SORTS = ['name', 'status', 'compile', 'behind', 'rssi'];

/** Online when a heartbeat arrived within the server's offline limit (the server's clock: `now`). */
export function isOnline(bot, now, offlineAfterS) {
  const seen = Date.parse(bot.last_seen ?? '');
  return Number.isFinite(seen) && now - seen <= offlineAfterS * 1000;
}

/** Revisions saved since the one that built the running image; null when that is not known. */
export function editsBehind(bot) {
  const head = bot.head_revision;
  const built = bot.running_build?.revision;
  if (!Number.isInteger(head) || !Number.isInteger(built)) return null;
  return Math.max(0, head - built);
}

/** "running #3 · target #4 · 2 edits behind", from what is known. */
export function firmwareText(bot) {
  const parts = [];
  const running = bot.running_build?.number;
  const target = bot.target_build?.number;
  if (Number.isInteger(running)) parts.push(`running build #${running}`);
  else if (bot.running) parts.push('running an unknown build');
  else parts.push('no firmware reported');
  if (Number.isInteger(target) && target !== running) parts.push(`target #${target}`);
  const behind = editsBehind(bot);
  if (behind === 0) parts.push('up to date');
  else if (behind === 1) parts.push('1 edit behind');
  else if (behind !== null) parts.push(`${behind} edits behind`);
  return parts.join(' · ');
}

export function hasError(bot) {
  return bot.compile?.status === 'error';
}

/** Where the first error is, as the Arduino IDE names it: "sketch.ino:12" (or just the file, or nothing). */
export function errorPlace(error) {
  if (!error?.file) return '';
  return Number.isInteger(error.line) ? `${error.file}:${error.line}` : error.file;
}

/** One line for the last compile: "clean" or "sketch.ino:12: 'x' was not declared in this scope". */
export function compileText(compiled) {
  if (!compiled) return 'not compiled yet';
  if (compiled.status !== 'error') return compiled.deploy ? 'clean (Upload)' : 'clean (Verify)';
  const place = errorPlace(compiled.error);
  const message = compiled.error?.message ?? 'failed';
  return place ? `${place}: ${message}` : message;
}

/** The compile column: a build queued or compiling now, else the last compile's result. */
export function buildText(bot) {
  const { building } = bot;
  if (!building) return compileText(bot.compile);
  const verb = building.deploy ? 'Upload' : 'Verify';
  return building.status === 'pending' ? `${verb} queued…` : `${verb}: ${building.message || 'compiling…'}`;
}

export function matchesFilter(bot, filter, now, offlineAfterS) {
  switch (filter) {
    case 'errors': return hasError(bot);
    case 'offline': return !isOnline(bot, now, offlineAfterS);
    case 'behind': return (editsBehind(bot) ?? 0) > 0
      || (Number.isInteger(bot.target_build?.number) && bot.target_build.number !== bot.running_build?.number);
    default: return true;
  }
}

const byName = (a, b) => (a.name || a.product_id).localeCompare(b.name || b.product_id)
  || a.product_id.localeCompare(b.product_id);

/** The bots to show, filtered and sorted (a new array; ties always fall back to the name). */
export function visibleBots(bots, { filter = 'all', sort = 'name', now, offlineAfterS }) {
  const shown = bots.filter((bot) => matchesFilter(bot, filter, now, offlineAfterS));
  const keys = {
    name: () => 0,
    status: (bot) => (isOnline(bot, now, offlineAfterS) ? 1 : 0),
    compile: (bot) => (hasError(bot) ? 0 : bot.compile ? 2 : 1),
    behind: (bot) => -(editsBehind(bot) ?? -1),
    rssi: (bot) => -(bot.telemetry?.rssi ?? -1000),
  };
  const key = keys[sort] ?? keys.name;
  return shown.sort((a, b) => key(a) - key(b) || byName(a, b));
}

/** A bot's row after one live change from the class room (a new object; unknown events leave it as it was). */
export function applyEvent(bot, event) {
  switch (event.type) {
    case 'heartbeat': {
      const newImage = needsReload(bot, event);
      return {
        ...bot,
        last_seen: event.last_seen ?? bot.last_seen,
        telemetry: { ...bot.telemetry, ...event.telemetry },
        sensors: event.sensors ?? bot.sensors,
        running: event.running?.md5 || event.running?.sha256 ? event.running : bot.running,
        running_build: newImage ? null : bot.running_build,
      };
    }
    case 'build': return { ...bot, building: event.build };
    case 'compile': return {
      ...bot,
      compile: event.compile,
      building: bot.building?.update_id === event.compile?.update_id ? null : bot.building,
    };
    case 'presence': return { ...bot, live_link: event.live_link };
    case 'flash': return {
      ...bot,
      flash: event.flash,
      target_build: Number.isInteger(event.build_number) && event.build_number !== bot.target_build?.number
        ? { number: event.build_number, revision: null } : bot.target_build,
    };
    case 'revision': return { ...bot, head_revision: event.head_revision };
    default: return bot;
  }
}

/** True when a change needs the server's full view of the bot (a new image whose build only the server knows). */
export function needsReload(bot, event) {
  if (event.type === 'flash' && event.flash?.state === 'running') return true;
  if (event.type !== 'heartbeat' || !event.running) return false;
  const known = bot.running;
  if (!known) return Boolean(event.running.md5 || event.running.sha256);
  return (event.running.sha256 || event.running.md5) !== (known.sha256 || known.md5);
}

/** The class error map from the bots' rows: the same grouping the server's error map makes. */
export function errorMap(bots) {
  const groups = new Map();
  let clean = 0;
  let never = 0;
  for (const bot of bots) {
    if (!bot.compile) never += 1;
    else if (!hasError(bot)) clean += 1;
    else {
      const error = bot.compile.error ?? { normalized: 'failed', message: 'failed' };
      const key = error.normalized;
      if (!groups.has(key)) groups.set(key, { message: key, example: error.message, bots: [] });
      groups.get(key).bots.push({ product_id: bot.product_id, name: bot.name, file: error.file, line: error.line });
    }
  }
  const errors = [...groups.values()]
    .map((group) => ({ ...group, count: group.bots.length }))
    .sort((a, b) => b.count - a.count || a.message.localeCompare(b.message));
  return { total: bots.length, clean, failing: bots.length - clean - never, never_compiled: never, errors };
}

export function cleanSummary(map) {
  return `${map.clean} of ${map.total} compile clean`;
}

/** Append a sample ({ts, values}) to a series, dropping duplicates, samples older than `maxAgeMs` and the oldest
 * beyond `maxSamples`; returns a new array, oldest first. */
export function appendSample(series, sample, { maxSamples, maxAgeMs }) {
  if (!Number.isFinite(sample?.ts)) return series;
  const merged = series.some((old) => old.ts === sample.ts) ? [...series] : [...series, sample];
  merged.sort((a, b) => a.ts - b.ts);
  const newest = merged[merged.length - 1].ts;
  const young = merged.filter((old) => newest - old.ts <= maxAgeMs);
  return young.slice(Math.max(0, young.length - maxSamples));
}

/** Every numeric field named in any bot's series, sensor readings first (they are what a class measures). */
export function seriesFields(seriesByBot) {
  const names = new Set();
  for (const samples of Object.values(seriesByBot)) {
    for (const sample of samples) for (const name of Object.keys(sample.values ?? {})) names.add(name);
  }
  const standard = ['rssi', 'heap', 'uptime'];
  const sensors = [...names].filter((name) => !standard.includes(name)).sort();
  return [...sensors, ...standard.filter((name) => names.has(name))];
}

/** uPlot's columns [[seconds…], [values…]] for one field (null where a sample lacks it). */
export function chartColumns(samples, field) {
  return [samples.map((sample) => sample.ts / 1000), samples.map((sample) => {
    const value = sample.values?.[field];
    return Number.isFinite(value) ? value : null;
  })];
}

export function formatHeap(bytes) {
  if (!Number.isFinite(bytes)) return '—';
  return bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${bytes} B`;
}

export function formatUptime(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days) return `${days} d ${hours} h`;
  if (hours) return `${hours} h ${minutes} min`;
  return minutes ? `${minutes} min` : `${Math.floor(seconds)} s`;
}

export function formatRssi(rssi) {
  return Number.isFinite(rssi) ? `${rssi} dBm` : '—';
}
