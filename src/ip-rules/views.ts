// What the IP rules API returns, as types with no imports: the panel shares them.

export type RuleAction = "allow" | "deny";

/** A rule as the API shows it (and as the check reports the rule that decided). */
export type RuleView = {
  id: string;
  action: RuleAction;
  cidr: string;
  description: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
};
