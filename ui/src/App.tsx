import { useEffect } from "preact/hooks";
import { Layout, PageHeader } from "./components/Layout";
import { StepUpModal } from "./components/StepUpModal";
import { Toasts } from "./components/Toasts";
import { AcceptInvitationPage } from "./pages/AcceptInvitation";
import { SessionsPage } from "./pages/Sessions";
import { SignInPage } from "./pages/SignIn";
import { SignOutPage } from "./pages/SignOut";
import { StepUpPage } from "./pages/StepUp";
import { TwoFactorPage } from "./pages/TwoFactor";
import { AccountPage } from "./pages/Account";
import { ForgotPasswordPage, ResetPasswordPage } from "./pages/PasswordPages";
import { authReady, canViewSecurity, canViewTeam, isOwner, me } from "./state/auth";
import { useLoad } from "./lib/useLoad";
import { branding } from "./state/branding";
import { navigate, pathname } from "./state/router";

const TITLES: Record<string, string> = {
  "/sign-in": "Sign in",
  "/accept-invitation": "Join your team",
  "/security/sessions": "Active sessions",
  "/security/two-factor": "Two-factor authentication",
  "/security/ip-rules": "IP rules",
  "/security/audit": "Audit log",
  "/team": "Team",
  "/organization/sso": "Single sign-on",
  "/organization/audit-stream": "Audit stream",
  "/account": "Your account",
  "/reset-password": "Reset password",
  "/forgot-password": "Forgot password",
  "/step-up": "Confirm it's you",
  "/sign-out": "Sign out",
};

/** Pages anyone may open without a session (besides sign-in): they never redirect to sign-in. */
const PUBLIC_PAGES: Record<string, () => preact.JSX.Element> = {
  "/accept-invitation": AcceptInvitationPage,
  "/reset-password": ResetPasswordPage,
  "/forgot-password": ForgotPasswordPage,
  "/sign-out": SignOutPage,
};

/** Enrolment is the only page while the tenant requires two-factor and the user has none. */
const ENROLMENT_PAGE = "/security/two-factor";

function Forbidden() {
  return (
    <PageHeader title="No access">
      Your role does not include this page. Ask an owner or admin of your organization if you need it.
    </PageHeader>
  );
}

/**
 * A page loaded when it is first opened: the administrators' pages (IP rules, audit log,
 * single sign-on, team) stay out of the first load, which every member's browser pays for.
 */
function lazyPage<M>(load: () => Promise<M>, pick: (module: M) => () => preact.JSX.Element) {
  return function LazyPage() {
    const page = useLoad(load);
    const Loaded = page.data.value === undefined ? null : pick(page.data.value);
    return Loaded ? <Loaded /> : <p class="loading" role="status">{page.error.value ?? "Loading…"}</p>;
  };
}
const IpRulesPage = lazyPage(() => import("./pages/IpRules"), (m) => m.IpRulesPage);
const AuditLogPage = lazyPage(() => import("./pages/AuditLog"), (m) => m.AuditLogPage);
const SingleSignOn = lazyPage(() => import("./pages/SingleSignOn"), (m) => m.SingleSignOnPage);
const AuditStream = lazyPage(() => import("./pages/AuditStream"), (m) => m.AuditStreamPage);
// The Team page (its menus and dialogs) is for those who manage people: loaded when opened.
const TeamPage = lazyPage(() => import("./pages/Team"), (m) => m.TeamPage);

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
    case "/organization/sso":
      return canViewSecurity.value ? <SingleSignOn /> : <Forbidden />;
    case "/organization/audit-stream":
      return isOwner.value ? <AuditStream /> : <Forbidden />;
    case "/account":
      return <AccountPage />;
    default:
      return <PageHeader title="Page not found">There is nothing at this address.</PageHeader>;
  }
}

export function App() {
  const path = pathname.value;
  const signedIn = me.value !== null;
  const ready = authReady.value;
  const Public = PUBLIC_PAGES[path];
  const enrolling = me.value?.mfaEnrollmentRequired === true;

  useEffect(() => {
    document.title = `${TITLES[path] ?? "Security"} · ${branding.value.name}`;
  }, [path, branding.value.name]);

  useEffect(() => {
    if (!ready || Public) return;
    if (signedIn && enrolling && path !== ENROLMENT_PAGE) return navigate(ENROLMENT_PAGE, { replace: true });
    if (!signedIn && path !== "/sign-in") navigate(`/sign-in?next=${encodeURIComponent(path + location.search)}`, { replace: true });
    if (signedIn && path === "/") navigate("/security/sessions", { replace: true });
  }, [ready, signedIn, enrolling, path]);

  let body;
  if (Public) body = <Public />;
  else if (!ready) body = <p class="loading" role="status">Loading…</p>;
  else if (path === "/sign-in" || !signedIn) body = <SignInPage />;
  // The product's step-up (STEP_UP_ROUTES): the dialog alone, also inside client.js's frame.
  else if (path === "/step-up") body = <StepUpPage />;
  else
    body = (
      <Layout>
        {enrolling ? <TwoFactorPage /> : <Page />}
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
