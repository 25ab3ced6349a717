// Every difference between two versions of the contract, classified by
// api-smart-diff (breaking, non-breaking, annotation, ...), as JSON lines.
// Three rules of ours on top:
// - a changed operationId breaks generated clients, whose function names
//   come from it, even where the wire does not change;
// - a changed type breaks them too, in answers as in requests (the code
//   generated for an integer cannot hold a string; api-smart-diff calls a
//   type replaced in an answer non-breaking);
// - a change to a shared component is judged where clients meet it: the
//   paths are diffed with their local $refs written out, so that a bound
//   added to a schema only answers use (maxItems on a page) is not taken
//   for a narrowed request. api-smart-diff judges components/ on their own
//   as if either side sent them.
import { readFileSync } from "node:fs";
import { apiDiff } from "api-smart-diff";
import yaml from "js-yaml";

// What a $ref in the paths points at; written out, these leave components/.
const INLINED = ["schemas", "responses", "parameters", "requestBodies", "headers", "examples",
  "links"];

function inlined(doc) {
  const resolving = new Set(); // a schema that contains itself stays a $ref
  const walk = (node) => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== "object") return node;
    const ref = node.$ref;
    if (typeof ref === "string" && ref.startsWith("#/") && !resolving.has(ref)) {
      const target = ref.slice(2).split("/").reduce((into, key) => into?.[key], doc);
      if (target !== undefined) {
        resolving.add(ref);
        const written = walk(target);
        resolving.delete(ref);
        return written;
      }
    }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value)]));
  };
  const components = Object.fromEntries(Object.entries(doc.components ?? {})
    .filter(([kind]) => !INLINED.includes(kind)));
  return { ...doc, paths: walk(doc.paths ?? {}), components };
}

const [before, after] = process.argv.slice(2)
  .map((path) => inlined(yaml.load(readFileSync(path, "utf8"))));
const result = apiDiff(before, after);
for (const diff of Array.isArray(result) ? result : result.diffs) {
  const path = diff.path.map(String);
  const renamed = path.at(-1) === "operationId" && diff.action === "replace";
  const retyped = path.at(-1) === "type" && diff.action === "replace";
  console.log(JSON.stringify({
    type: renamed || retyped ? "breaking" : diff.type,
    path: path.join("/"),
    description: renamed ? `operationId ${diff.before} is now ${diff.after}` : diff.description ?? "",
  }));
}
