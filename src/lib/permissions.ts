/**
 * Who may do what: roles, their rank, permissions and per-user overrides. Import-free,
 * so the panel shares it (ui/src/api/types.ts) and the database schema takes its role
 * list from here.
 */
export const ROLES = ["owner", "admin", "member"] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ["SETTINGS_SECURITY_VIEW", "SETTINGS_SECURITY_EDIT", "SETTINGS_TEAM_VIEW"] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Per-user changes on top of the role's permissions. */
export type PermissionOverrides = { granted: Permission[]; revoked: Permission[] };

const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  owner: PERMISSIONS,
  admin: PERMISSIONS,
  member: [],
};

/** Nobody acts on, or assigns, a role ranked above their own. */
export const ROLE_RANK: Record<Role, number> = { owner: 3, admin: 2, member: 1 };

export type Principal = { role: Role; permissionOverrides: PermissionOverrides | null };

/** The role's permissions, plus per-user grants, minus per-user revocations. */
export function permissionsOf(user: Principal): Permission[] {
  const granted = new Set(user.permissionOverrides?.granted ?? []);
  const revoked = new Set(user.permissionOverrides?.revoked ?? []);
  return PERMISSIONS.filter((p) => (ROLE_PERMISSIONS[user.role].includes(p) || granted.has(p)) && !revoked.has(p));
}

export function hasPermission(user: Principal, permission: Permission): boolean {
  return permissionsOf(user).includes(permission);
}

export function rankAbove(actor: Role, target: Role): boolean {
  return ROLE_RANK[actor] > ROLE_RANK[target];
}

/** Nobody hands out a role ranked above their own: to a member, or by inviting someone. */
export function mayAssignRole(actor: Role, role: Role): boolean {
  return !rankAbove(role, actor);
}

/** The permission that lets a user invite people and manage the tenant's invitations. */
export const INVITE_PERMISSION: Permission = "SETTINGS_SECURITY_EDIT";

/**
 * May `user` send an invitation to `role`: they hold the permission to invite, and the
 * role is not above their own. The invite route applies it piece by piece (its own answer
 * for each); an invitation already sent stands only while its inviter still passes it
 * (src/users/inviter-standing.ts).
 */
export function mayInvite(user: Principal, role: Role): boolean {
  return hasPermission(user, INVITE_PERMISSION) && mayAssignRole(user.role, role);
}
