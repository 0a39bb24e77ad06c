/**
 * Stands in for `@peculiar/x509` (and `reflect-metadata`, which only it needs) in the
 * worker bundle: wrangler.toml's [alias] and vitest.config.ts's resolve.alias point both
 * names here, so what the tests run is what deploys.
 *
 * Why: @simplewebauthn/server imports the X.509 stack (about a hundred kilobytes minified,
 * with its dependency-injection container and decorator metadata) for two things only:
 * checking an attestation certificate's chain and its revocation. Gatehouse asks for
 * attestation "none" and drops any statement an authenticator sends anyway before
 * verifying (withoutAttestation, ./ceremony.ts), so neither ever runs. If the library ever
 * reached them, these classes refuse to be built: that registration fails (PASSKEY_INVALID),
 * it never passes unchecked.
 */
class NotInThisBundle {
  constructor() {
    throw new Error("X.509 certificate checks are not in Gatehouse's bundle: it verifies no attestation (src/passkeys/no-certificates.ts)");
  }
}

export class X509Certificate extends NotInThisBundle {}
export class X509ChainBuilder extends NotInThisBundle {}
export class X509Crl extends NotInThisBundle {}
export class AuthorityKeyIdentifierExtension extends NotInThisBundle {}
export class CRLDistributionPointsExtension extends NotInThisBundle {}
export class SubjectKeyIdentifierExtension extends NotInThisBundle {}
