"""Every page of the classroom console at 1280×720: nothing scrolls sideways, and the Tab key reaches every control a
person can see (a control that only a mouse can reach is a control a keyboard user does not have)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import ADMIN, CLASS_NAME, INSTRUCTOR, BrowserService, log_in, screenshot

pytestmark = pytest.mark.browser

PAGES = [
    (INSTRUCTOR, "/classes"),
    (INSTRUCTOR, f"/classes/{CLASS_NAME}"),
    (INSTRUCTOR, f"/classes/{CLASS_NAME}/cards"),
    (INSTRUCTOR, f"/classes/{CLASS_NAME}/dashboard"),
    (INSTRUCTOR, f"/classes/{CLASS_NAME}/assignments"),
    (INSTRUCTOR, "/firmware"),
    (INSTRUCTOR, "/account"),
    (ADMIN, "/admin"),
    (ADMIN, "/admin/devices"),
    (ADMIN, "/admin/activity"),
]

# The controls a person can see and use: rendered, not hidden, not disabled, not inside a closed <details>; numbered
# in the page's order.
MARK_CONTROLS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const usable = (node) => {
    if (node.disabled || node.closest('[inert], dialog:not([open])')) return false;
    if (node.getClientRects().length === 0) return false;
    const style = getComputedStyle(node);
    return style.visibility !== 'hidden' && style.display !== 'none';
  };
  // A radio group is one Tab stop (the arrow keys move inside it): its buttons share one number.
  const groups = new Map();
  let count = 0;
  for (const node of [...document.querySelectorAll(selector)].filter(usable)) {
    const group = node.type === 'radio' ? `${node.form?.id}/${node.name}` : null;
    if (group && groups.has(group)) {
      node.dataset.keyboardCheck = groups.get(group);
      continue;
    }
    node.dataset.keyboardCheck = String(count);
    if (group) groups.set(group, node.dataset.keyboardCheck);
    count += 1;
  }
  return count;
}"""

FOCUSED = "() => document.activeElement?.dataset?.keyboardCheck ?? null"

DESCRIBE = """(indexes) => indexes.map((index) => {
  const node = document.querySelector(`[data-keyboard-check="${index}"]`);
  return `${node.tagName.toLowerCase()}#${node.id} "${(node.textContent || node.value || '').trim().slice(0, 40)}"`;
})"""


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[path for _, path in PAGES])
def test_every_visible_control_is_reached_with_tab_and_nothing_scrolls_sideways(
    page: Page, browser_service: BrowserService, who: tuple[str, str], path: str
) -> None:
    log_in(page, *who, mode="user")
    page.wait_for_url(lambda url: "/login" not in url)
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow} px at 1280×720"

    count = page.evaluate(MARK_CONTROLS)
    assert count > 0, path
    page.locator("body").focus()
    reached: set[str] = set()
    for _ in range(2 * count + 10):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is not None:
            reached.add(focused)
        if len(reached) == count:
            break
    missed = sorted(set(map(str, range(count))) - reached, key=int)
    screenshot(page, f"keyboard{path.replace('/', '-')}")
    assert not missed, f"{path}: Tab never reaches {page.evaluate(DESCRIBE, missed)}"
