// Validates every line of an NDJSON file (one request body per line) against the
// seed's JSON Schema with ajv. Prints "<n> valid" or the first failures; exit 1 on any.
"use strict";
const fs = require("fs");
const Ajv = require("ajv");
const [schemaPath, bodiesPath] = process.argv.slice(2);
const ajv = new Ajv({ allErrors: true, strict: true });
// The seed marks enums and int32 with informational "format"s; type/enum carry the rule.
ajv.addFormat("enum", true);
ajv.addFormat("int32", { type: "number", validate: (n) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 });
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
let n = 0, bad = 0;
for (const line of fs.readFileSync(bodiesPath, "utf8").split("\n")) {
  if (line === "") continue;
  n++;
  let doc;
  try { doc = JSON.parse(line); } catch (e) { bad++; console.log("not JSON:", line.slice(0, 200)); continue; }
  if (!validate(doc)) { bad++; console.log("invalid:", JSON.stringify(validate.errors).slice(0, 500)); }
}
console.log(`${n - bad} valid, ${bad} invalid`);
process.exit(bad === 0 && n > 0 ? 0 : 1);
