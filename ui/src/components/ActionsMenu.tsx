import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";

export type MenuItem = { label: string; onSelect: () => void; danger?: boolean } | { label: string; href: string; onNavigate: (e: MouseEvent) => void };

/**
 * One button that opens a short list of actions (the WAI-ARIA menu button pattern): Enter,
 * Space or ArrowDown open it on the first item, arrows move, Escape or Tab closes it and
 * focus returns to the button. `groups` are separated by a rule: the destructive actions go
 * in a group of their own, last.
 */
export function ActionsMenu({ label, groups, children }: { label: string; groups: MenuItem[][]; children: ComponentChildren }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const id = useId();
  const items = () => [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];

  useEffect(() => {
    if (!open) return;
    items()[0]?.focus();
    const outside = (e: Event) => {
      if (!menu.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", outside);
    return () => document.removeEventListener("pointerdown", outside);
  }, [open]);

  function close(returnFocus: boolean) {
    setOpen(false);
    if (returnFocus) button.current?.focus();
  }

  function onMenuKey(e: KeyboardEvent) {
    const list = items();
    const at = list.indexOf(document.activeElement as HTMLElement);
    const move = (to: number) => {
      e.preventDefault();
      list[(to + list.length) % list.length]?.focus();
    };
    if (e.key === "ArrowDown") move(at + 1);
    else if (e.key === "ArrowUp") move(at - 1);
    else if (e.key === "Home") move(0);
    else if (e.key === "End") move(list.length - 1);
    else if (e.key === "Escape") {
      e.preventDefault();
      close(true);
    } else if (e.key === "Tab") close(false);
  }

  return (
    <div class="menu-wrap">
      <button
        ref={button}
        type="button"
        class="button button-small"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        aria-label={label}
        onClick={() => setOpen(!open)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" && !open) {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        {children}
      </button>
      {open && (
        <div ref={menu} id={id} class="menu" role="menu" aria-label={label} onKeyDown={onMenuKey}>
          {groups
            .filter((g) => g.length > 0)
            .map((group, i) => (
              <div key={i} role="group" class="menu-group">
                {group.map((item) =>
                  "href" in item ? (
                    <a
                      key={item.label}
                      role="menuitem"
                      tabIndex={-1}
                      class="menu-item"
                      href={item.href}
                      onClick={(e) => {
                        setOpen(false);
                        item.onNavigate(e);
                      }}
                    >
                      {item.label}
                    </a>
                  ) : (
                    <button
                      key={item.label}
                      type="button"
                      role="menuitem"
                      tabIndex={-1}
                      class={item.danger ? "menu-item menu-item-danger" : "menu-item"}
                      onClick={() => {
                        // The dialog it opens takes focus; when it closes, focus comes back to the menu button.
                        close(true);
                        item.onSelect();
                      }}
                    >
                      {item.label}
                    </button>
                  ),
                )}
              </div>
            ))}
        </div>
      )}
    </div>
  );
}
