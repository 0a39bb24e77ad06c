/**
 * The slice of zod this app uses, as named imports. `import { z } from "zod"` pulls
 * the whole namespace (every locale and helper) into the bundle, about 65 KB gzip more;
 * named imports let esbuild drop what we never call.
 */
import { NEVER, array, boolean, coerce, enum as zEnum, iso, literal, looseObject, number, preprocess, strictObject, string, union, unknown } from "zod";

export const z = { NEVER, array, boolean, coerce, enum: zEnum, iso, literal, looseObject, number, preprocess, strictObject, string, union, unknown } as const;
export type { output as Infer } from "zod";
