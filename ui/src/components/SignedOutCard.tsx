import type { ComponentChildren } from "preact";
import { branding, logoSrc } from "../state/branding";
import { appUrl, onLinkClick } from "../state/router";

/**
 * The frame of every page a signed-out visitor sees (sign-in, invitation, password reset):
 * the product's mark, the title, and, when `back` is set, a way back to sign-in.
 */
export function SignedOutCard({ title, children, back = false }: { title: string; children: ComponentChildren; back?: boolean }) {
  return (
    <div class="signin">
      <main id="main" class="signin-card">
        <div class="signin-brand">
          <img src={logoSrc()} alt={branding.value.name} height={36} />
        </div>
        <h1 tabIndex={-1}>{title}</h1>
        {children}
        {back && (
          <div class="signin-links">
            <a href={appUrl("/sign-in")} onClick={onLinkClick}>
              Back to sign-in
            </a>
          </div>
        )}
      </main>
    </div>
  );
}
