/**
 * The tenant policy's vocabulary, import-free so the schema can use it. What each value
 * means is decided in one place: src/stepup/phishing-resistance.ts.
 */

/** Whose step-ups must be made with a passkey: nobody's, administrators' (SETTINGS_SECURITY_EDIT), everyone's. */
export const PHISHING_RESISTANT_SCOPES = ["off", "admins", "everyone"] as const;
export type PhishingResistantScope = (typeof PHISHING_RESISTANT_SCOPES)[number];
