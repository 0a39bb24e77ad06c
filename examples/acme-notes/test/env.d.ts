import type { Env as AcmeEnv } from "../src/index";

declare global {
  namespace Cloudflare {
    interface Env extends AcmeEnv {
      TEST_PRIVATE_JWK: string;
    }
  }
}
