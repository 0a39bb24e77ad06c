import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { canViewSecurity, canViewTeam, isOwner, me, signOut } from "../state/auth";
import { branding, logoSrc } from "../state/branding";
import { appUrl, onLinkClick, pathname } from "../state/router";
import { ImpersonationBanner } from "./ImpersonationBanner";

type NavItem = { href: string; label: string; show: boolean };

function NavLink({ href, label }: { href: string; label: string }) {
  const current = pathname.value === href;
  const ref = useRef<HTMLAnchorElement>(null);
  useEffect(() => {
    // On narrow screens the nav scrolls sideways: keep the current page's tab in view.
    if (current) ref.current?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }, [current]);
  return (
    <a ref={ref} href={appUrl(href)} onClick={onLinkClick} class={current ? "nav-link nav-link-on" : "nav-link"} aria-current={current ? "page" : undefined}>
      {label}
    </a>
  );
}

/**
 * On a narrow screen the section tabs scroll sideways: a fade and an arrow at each edge where
 * more tabs are hidden say so (`more` reads the scroll position on scroll and resize).
 */
function useOverflow() {
  const ref = useRef<HTMLElement>(null);
  const [more, setMore] = useState({ before: false, after: false });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setMore({ before: el.scrollLeft > 2, after: el.scrollLeft + el.clientWidth < el.scrollWidth - 2 });
    measure();
    el.addEventListener("scroll", measure, { passive: true });
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => {
      el.removeEventListener("scroll", measure);
      observer.disconnect();
    };
  }, []);
  return { ref, more };
}

export function Layout({ children }: { children: ComponentChildren }) {
  const tabs = useOverflow();
  const brand = branding.value;
  const tenant = me.value?.tenant?.name;
  const user = me.value?.user;
  // Until a required second factor is enrolled, enrolment is the only page.
  const full = me.value?.mfaEnrollmentRequired !== true;
  const security: NavItem[] = [
    { href: "/security/sessions", label: "Active sessions", show: full },
    { href: "/security/two-factor", label: "Two-factor", show: true },
    { href: "/security/ip-rules", label: "IP rules", show: full && canViewSecurity.value },
    { href: "/security/audit", label: "Audit log", show: full && canViewSecurity.value },
  ];
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <ImpersonationBanner />
      <header class="topbar">
        <div class="brand-row">
          <a class="brand" href={appUrl("/security/sessions")} onClick={onLinkClick}>
            <img src={logoSrc()} alt="" height={22} />
            <span>{brand.name}</span>
            {tenant && <span class="brand-tenant">{tenant}</span>}
          </a>
          {brand.productUrl && (
            <a class="back-to-product" href={brand.productUrl}>
              <span aria-hidden="true">← </span>Back to {brand.name}
            </a>
          )}
        </div>
        {user && (
          <div class="account">
            <span class="account-name">
              {full ? (
                <a href={appUrl("/account")} onClick={onLinkClick} title="Your account">
                  {user.displayName}
                </a>
              ) : (
                user.displayName
              )}{" "}
              <span class="badge badge-neutral">{user.role}</span>
            </span>
            <button type="button" class="button button-small" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <div class="frame">
        <div class={`sidenav-wrap${tabs.more.before ? " more-before" : ""}${tabs.more.after ? " more-after" : ""}`}>
        <nav ref={tabs.ref} class="sidenav" aria-label="Settings">
          <p class="nav-heading">Security</p>
          {security.filter((i) => i.show).map((i) => <NavLink key={i.href} href={i.href} label={i.label} />)}
          {full && canViewTeam.value && (
            <>
              <p class="nav-heading">Organization</p>
              <NavLink href="/team" label="Team" />
              {canViewSecurity.value && <NavLink href="/organization/sso" label="Single sign-on" />}
              {isOwner.value && <NavLink href="/organization/audit-stream" label="Audit stream" />}
            </>
          )}
          {full && (
            <>
              <p class="nav-heading">You</p>
              <NavLink href="/account" label="Your account" />
            </>
          )}
        </nav>
        </div>
        <main id="main" class="content">
          {children}
        </main>
      </div>
    </div>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <h1 tabIndex={-1}>{title}</h1>
      {children && <div class="page-lead">{children}</div>}
    </div>
  );
}
