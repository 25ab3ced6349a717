// The whole flow through the packed stores-api-client, installed as a client
// team installs it: its types come from the contract alone, openapi-fetch
// makes the calls, and the compiler refuses any call the spec does not allow.
import { createStoresClient, type operations } from "stores-api-client";

// Operations by their public names (operationId): a name the spec does not
// have, or a body that does not fit it, does not compile.
type CreateStore = operations["createStore"]["requestBody"]["content"]["application/json"];
type CreateItem = operations["createItem"]["requestBody"]["content"]["application/json"];
type ListItemsQuery = NonNullable<operations["listItems"]["parameters"]["query"]>;

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

const baseUrl = `${process.env.STORES_API_URL}/api/v1`;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

function client(token?: string) {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return createStoresClient({ baseUrl, headers });
}

async function main(): Promise<void> {
  const credentials = { username: "typescript", password: "typescript-password" };
  const registered = await client().POST("/auth/register", { body: credentials });
  check(registered.response.status === 201, `register: ${registered.response.status}`);

  const login = await client().POST("/auth/login", { body: credentials });
  check(login.data, "login failed");
  let api = client(login.data.access_token);

  const newStore: CreateStore = { name: "TypeScript store" };
  const store = await api.POST("/stores", { body: newStore });
  check(store.data, "create store failed");
  const storeId = store.data.id;

  const itemIds: number[] = [];
  for (const n of [1, 2, 3]) {
    // Prices are decimals in strings: exact, and written back with two places.
    const newItem: CreateItem = { name: `Thing ${n}`, price: `${n}.5`, store_id: storeId };
    const item = await api.POST("/items", { body: newItem });
    check(item.data, "create item failed");
    const price: string = item.data.price; // a string to the compiler too
    check(price === `${n}.50`, `price came back as ${price}`);
    itemIds.push(item.data.id);
  }
  const tag = await api.POST("/stores/{store_id}/tags", {
    params: { path: { store_id: storeId } },
    body: { name: "typed" },
  });
  check(tag.data, "create tag failed");
  const firstItem = itemIds[0]!;
  const linked = await api.PUT("/items/{item_id}/tags/{tag_id}", {
    params: { path: { item_id: firstItem, tag_id: tag.data.id } },
  });
  check(linked.response.status === 204, `link: ${linked.response.status}`);

  const seen: number[] = [];
  let cursor: string | undefined;
  do {
    const query: ListItemsQuery = { store_id: storeId, limit: 2, ...(cursor ? { cursor } : {}) };
    const page = await api.GET("/items", { params: { query } });
    check(page.data, "list items failed");
    seen.push(...page.data.data.map((item) => item.id));
    cursor = page.data.next_cursor ?? undefined;
  } while (cursor);
  check(JSON.stringify(seen) === JSON.stringify(itemIds), `pages gave ${seen}`);

  // Another user reads the store, is refused a change, and may change it
  // once the owner makes them an editor.
  const helper = { username: "typescript-helper", password: "typescript-password" };
  check((await client().POST("/auth/register", { body: helper })).response.status === 201, "register helper");
  const helperLogin = await client().POST("/auth/login", { body: helper });
  check(helperLogin.data, "helper login failed");
  const other = client(helperLogin.data.access_token);
  const storePath = { params: { path: { store_id: storeId } } };
  const refusedRename = await other.PUT("/stores/{store_id}", { ...storePath, body: { name: "Not yours" } });
  check(refusedRename.response.status === 403, `a stranger's rename gave ${refusedRename.response.status}`);
  check(refusedRename.error?.detail?.includes("owner or editor role"), "403 names the role");
  // Nobody is made a member without saying yes: invited, then accepting.
  const invitation = await api.POST("/stores/{store_id}/invitations", {
    ...storePath,
    body: { username: helper.username, role: "editor" },
  });
  check(invitation.data?.store_id === storeId, "invitation failed");
  const pending = await other.GET("/users/me/invitations");
  check(pending.data?.data.map((i) => i.store_id).join() === String(storeId), "the invitee sees it");
  const member = await other.POST("/users/me/invitations/{store_id}/accept", storePath);
  check(member.data?.role === "editor", "accepting failed");
  const renamed = await other.PUT("/stores/{store_id}", { ...storePath, body: { name: "TypeScript, shared" } });
  check(renamed.data?.owner_id === store.data.owner_id, "an editor's rename failed");
  const mine = await other.GET("/stores", { params: { query: { member: "me" } } });
  check(mine.data?.data.map((s) => s.id).join() === String(storeId), "member=me lists the shared store");

  const refreshed = await client(login.data.refresh_token).POST("/auth/refresh");
  check(refreshed.data, "refresh failed");
  api = client(refreshed.data.access_token);

  const loggedOut = await api.POST("/auth/logout", { body: { refresh_token: refreshed.data.refresh_token } });
  check(loggedOut.response.status === 204, `logout: ${loggedOut.response.status}`);
  const refused = await api.GET("/users/me");
  check(refused.response.status === 401, `revoked token gave ${refused.response.status}`);
  check(refused.error?.status === 401, "the refusal is a problem document");
  check(refused.response.headers.get("www-authenticate") === "Bearer", "401 without a challenge");
  console.log("typescript flow: ok");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
