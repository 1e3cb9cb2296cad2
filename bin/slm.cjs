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
const { main, exitAfterFlush } = require(entry);
// Exit only once stdout and stderr are flushed: a pipe takes output in 64 KiB pieces.
main(process.argv.slice(2)).then(exitAfterFlush, (err) => {
  process.stderr.write(`slm: ${err.message}\n`);
  exitAfterFlush(1);
});
