// What the invitations API returns, as types with no imports: the panel shares them.

export type InvitationStatus = "pending" | "expired" | "accepted" | "revoked";

/** An invitation as `GET /api/users/invitations` lists it. Times are ISO 8601. */
export type InvitationView = {
  id: string;
  email: string;
  role: "owner" | "admin" | "member";
  status: InvitationStatus;
  /** The inviting user's id; null when the operator invited a tenant's first owner. */
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
  revokedAt: string | null;
};

/** The answer to creating or re-sending one: the link is shown to the admin, and `emailed` says if the hook sent it. */
export type InvitationCreated = { invitation: InvitationView; link: string; emailed: boolean };

/** What a link is now, as its invitee sees it: `withdrawn` when its sender can no longer grant the access. */
export type InviteeState = "pending" | "accepted" | "revoked" | "expired" | "withdrawn";

/** The accept page's look at a link (src/auth/invitation-preview.ts): whom it is for only while it is open. */
export type InvitationPreview =
  | { state: "pending"; organization: string; email: string; role: InvitationView["role"]; invitedBy: string | null; expiresAt: string }
  | { state: Exclude<InviteeState, "pending"> };
