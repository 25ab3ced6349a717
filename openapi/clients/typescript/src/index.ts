// The Stores API client: the contract's types (generated into ./schema.ts by
// openapi-typescript when the package is built) bound to openapi-fetch.
import createClient, { type ClientOptions } from "openapi-fetch";
import type { paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

/** A client whose every call is checked against the contract at compile time. */
export function createStoresClient(options: ClientOptions = {}) {
  return createClient<paths>(options);
}

export type StoresClient = ReturnType<typeof createStoresClient>;
