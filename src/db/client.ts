import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

function open(d1: D1Database) {
  return drizzle(d1, { schema });
}

export type Db = ReturnType<typeof open>;

// drizzle builds its relational map of the whole schema for every instance (about a
// seventh of a hot request's CPU in the bench profile): one instance per binding object.
const instances = new WeakMap<D1Database, Db>();

/** Drizzle over a D1 binding; the same binding object always gets the same instance. */
export function createDb(d1: D1Database): Db {
  let db = instances.get(d1);
  if (!db) {
    db = open(d1);
    instances.set(d1, db);
  }
  return db;
}
