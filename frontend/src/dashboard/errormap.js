/**
 * The class error map: each distinct compile error (normalised by the server), how many bots have it, which ones.
 */
import { cleanSummary, errorPlace } from '../lib/dashboard.js';
import { el } from '../ui/dom.js';

export class ErrorMapView {
  constructor(list, summary) {
    this.list = list;
    this.summary = summary;
  }

  render(map) {
    this.summary.textContent = cleanSummary(map);
    this.summary.dataset.clean = String(map.clean);
    this.summary.dataset.total = String(map.total);
    if (!map.errors.length) {
      this.list.replaceChildren(el('li', { className: 'muted' },
        map.failing ? 'Builds failed without a compiler error.' : 'No compile errors right now.'));
      return;
    }
    this.list.replaceChildren(...map.errors.map((error) => el('li', { 'data-count': error.count },
      el('span', { className: 'count' }, error.count === 1 ? '1 student' : `${error.count} students`),
      el('code', { className: 'message', title: error.example }, error.message),
      el('span', { className: 'who' }, error.bots.map((bot) => {
        const place = errorPlace(bot);
        return `${bot.name || bot.product_id}${place ? ` (${place})` : ''}`;
      }).join(', ')))));
  }
}
