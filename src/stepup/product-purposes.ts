/**
 * The product's step-up purposes, from the JSON var PRODUCT_STEP_UP_PURPOSES, e.g.
 *   [{"name":"NOTE_DELETE","label":"delete a note","windowSeconds":300,"singleUse":true,"secondFactorOnly":false,
 *     "allowWhileImpersonating":true}]
 * Validated with zod at startup (src/config.ts calls this from parseConfig): names are
 * upper-case identifiers that never collide with Gatehouse's STEP_UP_PURPOSES (nor with
 * each other), windows are 60 to 3600 seconds. Parsed once per env object.
 * What the product may ask for is only these (declaredProductPurpose, src/stepup/policy.ts).
 */
import { array, boolean, number, strictObject, string } from "zod";
import { type ProductStepUpPolicy, STEP_UP_PURPOSES } from "./policy";

const GATEHOUSE_PURPOSES: ReadonlySet<string> = new Set(STEP_UP_PURPOSES);

const purposeSchema = strictObject({
  name: string()
    .regex(/^[A-Z][A-Z0-9_]{2,40}$/, "must be 3-41 of A-Z, 0-9 and _, starting with a letter")
    .refine((name) => !GATEHOUSE_PURPOSES.has(name), "is one of Gatehouse's own step-up purposes"),
  label: string().trim().min(1).max(80),
  windowSeconds: number().int().min(60).max(3600),
  singleUse: boolean(),
  /** Admin-grade: TOTP or a recovery code only, never the password. */
  secondFactorOnly: boolean(),
  /**
   * May an admin who impersonates a user earn it (with the admin's own factor), to act for
   * the user in the product? Off unless the product says so: then the product's action runs
   * as the user, recorded with the real admin (the assertion's `act`, the audit row's real user).
   */
  allowWhileImpersonating: boolean().optional(),
});

const purposesSchema = array(purposeSchema)
  .max(50)
  .refine((list) => new Set(list.map((p) => p.name)).size === list.length, "names must be unique");

export class ProductPurposesError extends Error {
  override readonly name = "ProductPurposesError";
}

const parsed = new WeakMap<object, ProductStepUpPolicy[]>();

/** The validated product purposes of `env` (none when the var is unset or empty); throws ProductPurposesError. */
export function productStepUpPurposes(env: { PRODUCT_STEP_UP_PURPOSES?: string | undefined }): ProductStepUpPolicy[] {
  const known = parsed.get(env);
  if (known) return known;
  const raw = env.PRODUCT_STEP_UP_PURPOSES;
  let purposes: ProductStepUpPolicy[] = [];
  if (raw) {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new ProductPurposesError("PRODUCT_STEP_UP_PURPOSES is not valid JSON");
    }
    const result = purposesSchema.safeParse(json);
    if (!result.success) {
      const problems = result.error.issues.map((i) => `${i.path.length ? `[${i.path.join(".")}] ` : ""}${i.message}`);
      throw new ProductPurposesError(`PRODUCT_STEP_UP_PURPOSES ${problems.join("; ")}`);
    }
    purposes = result.data;
  }
  parsed.set(env, purposes);
  return purposes;
}
