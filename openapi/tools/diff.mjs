// Every difference between two versions of the contract, classified by
// api-smart-diff (breaking, non-breaking, annotation, ...), as JSON lines.
// One rule of ours on top: a changed operationId breaks generated clients,
// whose function names come from it, even where the wire does not change.
import { readFileSync } from "node:fs";
import { apiDiff } from "api-smart-diff";
import yaml from "js-yaml";

const [before, after] = process.argv.slice(2).map((path) => yaml.load(readFileSync(path, "utf8")));
const result = apiDiff(before, after);
for (const diff of Array.isArray(result) ? result : result.diffs) {
  const path = diff.path.map(String);
  const renamed = path.at(-1) === "operationId" && diff.action === "replace";
  console.log(JSON.stringify({
    type: renamed ? "breaking" : diff.type,
    path: path.join("/"),
    description: renamed ? `operationId ${diff.before} is now ${diff.after}` : diff.description ?? "",
  }));
}
