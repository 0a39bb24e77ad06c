import { useEffect } from "preact/hooks";
import { Layout, PageHeader } from "./components/Layout";
import { StepUpModal } from "./components/StepUpModal";
import { Toasts } from "./components/Toasts";
import { AcceptInvitationPage } from "./pages/AcceptInvitation";
import { AuditLogPage } from "./pages/AuditLog";
import { IpRulesPage } from "./pages/IpRules";
import { SessionsPage } from "./pages/Sessions";
import { SignInPage } from "./pages/SignIn";
import { StepUpPage } from "./pages/StepUp";
import { TeamPage } from "./pages/Team";
import { TwoFactorPage } from "./pages/TwoFactor";
import { authReady, canViewSecurity, canViewTeam, me } from "./state/auth";
import { navigate, pathname } from "./state/router";

const TITLES: Record<string, string> = {
  "/sign-in": "Sign in",
  "/accept-invitation": "Join your team",
  "/security/sessions": "Active sessions",
  "/security/two-factor": "Two-factor authentication",
  "/security/ip-rules": "IP rules",
  "/security/audit": "Audit log",
  "/team": "Team",
  "/step-up": "Confirm it's you",
};

/** Pages anyone may open without a session (besides sign-in). */
const PUBLIC_PAGES = new Set(["/accept-invitation"]);

function Forbidden() {
  return (
    <PageHeader title="No access">
      Your role does not include this page. Ask an owner or admin of your organization if you need it.
    </PageHeader>
  );
}

function Page() {
  switch (pathname.value) {
    case "/security/sessions":
      return <SessionsPage />;
    case "/security/two-factor":
      return <TwoFactorPage />;
    case "/security/ip-rules":
      return canViewSecurity.value ? <IpRulesPage /> : <Forbidden />;
    case "/security/audit":
      return canViewSecurity.value ? <AuditLogPage /> : <Forbidden />;
    case "/team":
      return canViewTeam.value ? <TeamPage /> : <Forbidden />;
    default:
      return <PageHeader title="Page not found">There is nothing at this address.</PageHeader>;
  }
}

export function App() {
  const path = pathname.value;
  const signedIn = me.value !== null;
  const ready = authReady.value;

  useEffect(() => {
    document.title = `${TITLES[path] ?? "Gatehouse"} · Gatehouse`;
  }, [path]);

  useEffect(() => {
    if (!ready) return;
    if (!signedIn && path !== "/sign-in" && !PUBLIC_PAGES.has(path)) navigate(`/sign-in?next=${encodeURIComponent(path + location.search)}`, { replace: true });
    if (signedIn && path === "/") navigate("/security/sessions", { replace: true });
  }, [ready, signedIn, path]);

  let body;
  if (!ready) body = <p class="loading" role="status">Loading…</p>;
  else if (path === "/accept-invitation") body = <AcceptInvitationPage />;
  else if (path === "/sign-in" || !signedIn) body = <SignInPage />;
  // The product's step-up (STEP_UP_ROUTES): the dialog alone, also inside client.js's frame.
  else if (path === "/step-up") body = <StepUpPage />;
  else
    body = (
      <Layout>
        <Page />
      </Layout>
    );

  return (
    <>
      {body}
      <StepUpModal />
      <Toasts />
    </>
  );
}
