#!/usr/bin/env node
'use strict';
// The `ssse` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (also run by `npm ci` through the `prepare` script).
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'main', 'cli', 'ssse.js');
if (!fs.existsSync(entry)) {
  console.error(`ssse: ${entry} is missing; run \`npm run build\` first.`);
  process.exit(2);
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
