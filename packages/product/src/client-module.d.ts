// `<GATEHOUSE_PATH>/client.js` as a module declaration, for a tsconfig "paths" entry (see ./client.ts).
import type { GatehouseClient } from "./client.js";
export declare const gatehouseFetch: GatehouseClient["gatehouseFetch"];
export declare const stepUp: GatehouseClient["stepUp"];
export declare const signOut: GatehouseClient["signOut"];
export declare const signInUrl: GatehouseClient["signInUrl"];
export declare const stepUpUrl: GatehouseClient["stepUpUrl"];
