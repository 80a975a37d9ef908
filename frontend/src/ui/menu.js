/**
 * An accessible drop-down menu (menu button pattern): opens with click, Enter, Space or ArrowDown, moves with the
 * arrow keys, closes on Escape or when focus leaves; submenus open to the side.
 */
export function setupMenu(button, menu) {
  const items = () => [...menu.querySelectorAll(':scope > li > [role=menuitem]')];
  const open = (focusLast = false) => {
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    const list = items();
    list[focusLast ? list.length - 1 : 0]?.focus();
  };
  const close = (refocus = true) => {
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    for (const sub of menu.querySelectorAll('[role=menu]')) sub.hidden = true;
    if (refocus) button.focus();
  };
  button.addEventListener('click', () => (menu.hidden ? open() : close()));
  button.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      open(event.key === 'ArrowUp');
    }
  });
  menu.addEventListener('keydown', (event) => moveFocus(event, menu, close));
  menu.addEventListener('click', (event) => {
    const item = event.target.closest('[role=menuitem]');
    if (item && !item.hasAttribute('aria-haspopup')) close(false);
  });
  menu.parentElement.addEventListener('focusout', (event) => {
    if (!menu.parentElement.contains(event.relatedTarget)) close(false);
  });
  for (const parent of menu.querySelectorAll('[aria-haspopup=menu]')) setupSubmenu(parent);
  return { close };
}

function moveFocus(event, menu, close) {
  const list = currentList(event.target);
  const index = list.indexOf(event.target);
  const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: list.length - 1 };
  if (event.key in moves) {
    event.preventDefault();
    list[(moves[event.key] + list.length) % list.length]?.focus();
  } else if (event.key === 'Escape') {
    event.preventDefault();
    event.stopPropagation();
    const sub = event.target.closest('[role=menu]');
    if (sub !== menu) {
      sub.hidden = true;
      sub.previousElementSibling?.focus();
    } else close();
  } else if (event.key === 'Tab') {
    close(false);
  }
}

function currentList(item) {
  const owner = item.closest('[role=menu]');
  return [...owner.querySelectorAll(':scope > li > [role=menuitem]')];
}

function setupSubmenu(parent) {
  const sub = parent.nextElementSibling;
  const openSub = () => {
    sub.hidden = false;
    parent.setAttribute('aria-expanded', 'true');
    sub.querySelector('[role=menuitem]')?.focus();
  };
  parent.addEventListener('click', () => (sub.hidden ? openSub() : (sub.hidden = true)));
  parent.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowRight' || event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      openSub();
    }
  });
  sub.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowLeft') {
      event.preventDefault();
      sub.hidden = true;
      parent.setAttribute('aria-expanded', 'false');
      parent.focus();
    }
  });
}
