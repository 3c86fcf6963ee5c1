// The official MJML compiler (npm "mjml", installed by `make bench` into bench/.node), timed in-process.
//   node bench/mjml_node.js FILE.mjml RUNS
// Prints JSON: the median milliseconds of RUNS compiles (after warm-up), the HTML size, and the version.
"use strict";
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, ".node", "node_modules", "mjml");
const mjml = require(root);
const version = require(path.join(root, "package.json")).version;

async function main() {
  const [file, runs] = [process.argv[2], Number(process.argv[3] || 7)];
  const source = fs.readFileSync(file, "utf8");
  let html = "";
  for (let i = 0; i < 3; i++) html = (await mjml(source, { validationLevel: "soft" })).html; // warm-up (JIT)
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    html = (await mjml(source, { validationLevel: "soft" })).html;
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ median_ms: times[Math.floor(times.length / 2)], html_bytes: Buffer.byteLength(html), version }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
