// Reads {"schema": ..., "values": [...]} on stdin; writes, as JSON, whether
// ajv (the validator behind Prism and Spectral, pinned in openapi/tools)
// accepts each value. The schema is an OpenAPI 3.0 one: ajv is told to pass
// over the keywords JSON Schema does not have (x-pattern-rule, example).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(new URL("../../openapi/tools/package.json", import.meta.url));
const Ajv = require("ajv");
const { schema, values } = JSON.parse(readFileSync(0, "utf8"));
const validate = new Ajv({ strict: false }).compile(schema);
process.stdout.write(JSON.stringify(values.map((value) => validate(value))));
