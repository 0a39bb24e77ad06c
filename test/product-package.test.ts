// @gatehouse/product (packages/product) states Gatehouse's surfaces without importing its
// source: its types must keep fitting what Gatehouse answers and accepts (tsc checks this
// file with the rest), and its list of client.js's exports the module Gatehouse serves.
import { describe, expect, it } from "vitest";
import type * as Product from "../packages/product/src/index";
import { ASSERTION_HEADER as PRODUCT_HEADER, CLIENT_MODULE_EXPORTS } from "../packages/product/src/index";
import { ASSERTION_HEADER, type AssertionClaims } from "../src/gateway/assertion";
import { CLIENT_MODULE } from "../src/gateway/client-module";
import type { input } from "zod";
import type { auditEventInputSchema, requireStepUpInputSchema } from "../src/rpc/schemas";
import type { Authenticated } from "../src/rpc/types";
import type { publicUser } from "../src/auth/routes";
import type { StepUpMethod } from "../src/stepup/policy";

/** True when every A is a B: tsc rejects the `true` below otherwise. */
type Fits<A, B> = [A] extends [B] ? true : false;

// Whatever Gatehouse answers, the package's types accept; whatever they describe as input, Gatehouse's schemas accept.
const fits: [
  Fits<ReturnType<typeof publicUser>, Authenticated["user"]>,
  Fits<AssertionClaims, Product.AssertionClaims>,
  Fits<Product.AuditEventInput, input<typeof auditEventInputSchema>>,
  Fits<Product.RequireStepUpInput, input<typeof requireStepUpInputSchema>>,
  Fits<Product.StepUpMethod, StepUpMethod>,
  Fits<StepUpMethod, Product.StepUpMethod>,
] = [true, true, true, true, true, true];

describe("the product package and Gatehouse agree", () => {
  it("the package's types accept every answer Gatehouse gives, and every input they describe is one Gatehouse's schemas accept", () => {
    expect(fits.every((fit) => fit)).toBe(true);
    expect(PRODUCT_HEADER).toBe(ASSERTION_HEADER);
  });

  it("client.js exports exactly the functions the package's GatehouseClient types", () => {
    const exported = [...CLIENT_MODULE.matchAll(/^export (?:async )?function (\w+)/gm)].map((m) => m[1]);
    expect(exported.sort()).toEqual([...CLIENT_MODULE_EXPORTS].sort());
  });
});
