/**
 * Stands in for `@standard-community/standard-json` and `@standard-community/standard-openapi`
 * in the worker bundle: wrangler.toml's [alias] and vitest.config.ts's resolve.alias point
 * both names here, so what the tests run is what deploys.
 *
 * Why: hono-openapi imports them for its resolver() and validator(), which convert any
 * Standard Schema library's schemas by importing that library's converter at run time; for
 * zod that is all of `zod/v4/core`, its fifty locales included (about 60 KiB gzipped).
 * Gatehouse calls neither: its validate() steps carry zod's own converter
 * (src/openapi/notes.ts). If anything ever did, the conversion fails and so does the
 * document's generation (a 500 on /api/openapi.json), never a request's validation.
 */
const notInThisBundle = () => {
  throw new Error("Schema converters for other libraries are not in Gatehouse's bundle: zod's own converter is used (src/openapi/no-vendor-converters.ts)");
};

export const loadVendor = notInThisBundle;
export const toJsonSchema = notInThisBundle;
export const toOpenAPISchema = notInThisBundle;
