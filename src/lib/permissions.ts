import type { Role } from "../db/schema";

export const PERMISSIONS = ["SETTINGS_SECURITY_VIEW", "SETTINGS_SECURITY_EDIT", "SETTINGS_TEAM_VIEW"] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  owner: PERMISSIONS,
  admin: PERMISSIONS,
  member: [],
};

const ROLE_RANK: Record<Role, number> = { owner: 3, admin: 2, member: 1 };

export function permissionsOf(role: Role): Permission[] {
  return [...ROLE_PERMISSIONS[role]];
}

export function hasPermission(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/** True when `actor` outranks or equals `target` (owner > admin > member). */
export function rankAtLeast(actor: Role, target: Role): boolean {
  return ROLE_RANK[actor] >= ROLE_RANK[target];
}

export function rankAbove(actor: Role, target: Role): boolean {
  return ROLE_RANK[actor] > ROLE_RANK[target];
}
