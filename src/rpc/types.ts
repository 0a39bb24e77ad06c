/**
 * What the GatehouseService entrypoint (src/rpc/service.ts) takes and answers: the product
 * package's types (packages/product/src/rpc.ts, which a product imports without Gatehouse's
 * source), one definition re-exported here; test/product-package.test.ts checks them against
 * the schemas that validate the input and the values the engine answers. Every answer is
 * plain data (Workers RPC copies it); every refusal is `{ ok: false, status, error,
 * message, ... }` with the HTTP API's status and error codes.
 */
export type {
  AuditEventInput,
  AuditRecorded,
  Authenticated,
  AuthenticateInput,
  AuthenticateResult,
  RecordAuditEventResult,
  RequireStepUpInput,
  RequireStepUpResult,
  RpcFailure,
  RpcUser,
  StepUpRequired,
} from "../../packages/product/src/rpc.js";

