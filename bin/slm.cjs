#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, or the compiled one when dist/ exists (containers).
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
let entry = compiled;
if (!fs.existsSync(compiled)) {
  require('tsx/cjs');
  entry = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
}
const { main } = require(entry);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`slm: ${err.message}\n`);
    process.exit(1);
  },
);
