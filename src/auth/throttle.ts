import type { ThrottlePolicy } from "../lib/throttle";

// OWASP ASVS 4.0 V2.2.1 / NIST SP 800-63B-4 §3.2.2: limit failed attempts per
// account. 10 per email per 15 minutes; the window then lets the owner back in.
export const LOGIN_THROTTLE: ThrottlePolicy = { maxAttempts: 10, windowSeconds: 15 * 60 };

export const loginThrottleKey = (email: string) => `login:${email}`;
