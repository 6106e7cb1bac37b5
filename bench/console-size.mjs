// The web console's shipped size: every file in dist/console gzipped (level 9, as the server sends it).
//   node bench/run.mjs console      (after npm run build)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

const DIR = 'dist/console';
const TARGET_KB = 60;

function files(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Adds the console's gzip sizes to the bench table through its `record(name, value, unit, target, pass, note)`. */
export function consoleSize(record) {
  if (!existsSync(join(DIR, 'index.html'))) {
    record('web console bundle (gzip)', 0, 'KB', `< ${TARGET_KB} KB`, false, 'not built: npm run build');
    return;
  }
  const bytes = { total: 0, js: 0, css: 0, raw: 0 };
  for (const path of files(DIR)) {
    const body = readFileSync(path);
    const gzipped = gzipSync(body, { level: 9 }).length;
    bytes.total += gzipped;
    bytes.raw += body.length;
    if (extname(path) === '.js') bytes.js += gzipped;
    if (extname(path) === '.css') bytes.css += gzipped;
  }
  const kb = (n) => Math.round((n / 1024) * 10) / 10;
  const total = kb(bytes.total);
  record(
    'web console bundle (gzip, all files)',
    total,
    'KB',
    `< ${TARGET_KB} KB`,
    total < TARGET_KB,
    `${kb(bytes.raw)} KB raw`,
  );
  record('  of which JavaScript (Preact + uPlot + pages)', kb(bytes.js), 'KB', '', true);
  record('  of which CSS', kb(bytes.css), 'KB', '', true);
}
