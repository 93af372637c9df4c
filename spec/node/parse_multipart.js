// Parses a multipart body with busboy (independent of bizreg's writer and of the
// sandbox's parser). Usage: node parse_multipart.js <body-file> <content-type> <out-dir>
// Writes each part's bytes to <out-dir>/<n>.bin and prints a JSON list of
// { name, filename, mimeType, file } in order.
"use strict";
const fs = require("fs");
const path = require("path");
const busboy = require("busboy");
const [bodyPath, contentType, outDir] = process.argv.slice(2);
const parts = [];
const bb = busboy({ headers: { "content-type": contentType }, defCharset: "latin1", defParamCharset: "utf8", limits: { fileSize: 64 * 1024 * 1024, fieldSize: 64 * 1024 * 1024 } });
function save(index, chunks) {
  const file = path.join(outDir, `${index}.bin`);
  fs.writeFileSync(file, Buffer.concat(chunks));
  return file;
}
bb.on("field", (name, value, info) => {
  const index = parts.length;
  parts.push({ name, filename: null, mimeType: info.mimeType, file: save(index, [Buffer.from(value, "latin1")]) });
});
bb.on("file", (name, stream, info) => {
  const index = parts.length;
  const entry = { name, filename: info.filename, mimeType: info.mimeType, file: null };
  parts.push(entry);
  const chunks = [];
  stream.on("data", (c) => chunks.push(c));
  stream.on("end", () => { entry.file = save(index, chunks); });
});
bb.on("error", (e) => { console.error("busboy:", e.message); process.exit(1); });
bb.on("close", () => { console.log(JSON.stringify(parts)); });
// Fields decode as latin1 (one char per byte) so Buffer.from(v, "latin1") gives the exact bytes back.
bb.end(fs.readFileSync(bodyPath));
