/** The audit stream API's bodies and parameters (./routes.ts). */
import { z } from "../lib/zod";
import { MAX_ENDPOINT_LENGTH, endpointProblem } from "./endpoint";
import { STREAM_PRESETS } from "./vocabulary";

export const MAX_TOKEN_LENGTH = 512;

export const saveBody = z.strictObject({
  preset: z.enum(STREAM_PRESETS),
  url: z
    .string()
    .max(MAX_ENDPOINT_LENGTH)
    .superRefine((text, ctx) => {
      const problem = endpointProblem(text);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  // Printable ASCII, no spaces: it goes into a header as it is. Absent: keep the saved one.
  token: z
    .string()
    .min(8)
    .max(MAX_TOKEN_LENGTH)
    .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
    .optional(),
});

export const replayBody = z.strictObject({ fromSeq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

export const streamIdParam = z.strictObject({ id: z.string().min(1).max(64) });
