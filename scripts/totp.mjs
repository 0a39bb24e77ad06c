// Dev-only: prints the current TOTP code of a demo user (`npm run totp -- alice@acme.test`).
// It knows only the published demo secrets; it never reads a database.
import { Secret, TOTP } from "otpauth";
import { DEMO_USERS } from "./demo-data.mjs";

const email = process.argv[2];
const user = DEMO_USERS.find((u) => u.email === email);
if (!user?.totp) {
  const known = DEMO_USERS.filter((u) => u.totp).map((u) => u.email).join(", ");
  console.error(`Usage: npm run totp -- <email>   (demo users with TOTP: ${known})`);
  process.exit(2);
}
const totp = new TOTP({ secret: Secret.fromBase32(user.totp), algorithm: "SHA1", digits: 6, period: 30 });
const secondsLeft = 30 - (Math.floor(Date.now() / 1000) % 30);
console.log(`${totp.generate()}  (${user.email}, valid ${secondsLeft}s more)`);
