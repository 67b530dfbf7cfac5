// The pinned npm packages the integration tests drive live in
// $SKILLBOX_DEPS/node_modules (installed by tests/setup).  This module
// finds and imports them from there, and decides what a test does when
// one is missing: skip, or fail when SKILLBOX_STRICT=1 (as CI sets).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const depsDir = process.env.SKILLBOX_DEPS || '';
export const modulesDir = path.join(depsDir, 'node_modules');
export const strict = process.env.SKILLBOX_STRICT === '1';

// The file a package specifier resolves to, preferring the ESM build.
export function resolveDep(spec) {
  if (!depsDir) return null;
  const require = createRequire(path.join(modulesDir, 'index.js'));
  let file;
  try {
    file = require.resolve(spec);
  } catch {
    return null;
  }
  const esm = file.replace(`${path.sep}dist${path.sep}cjs${path.sep}`,
    `${path.sep}dist${path.sep}esm${path.sep}`);
  return existsSync(esm) ? esm : file;
}

// Import a package (or a subpath of one) from $SKILLBOX_DEPS; null if
// it is not installed.
export async function loadDep(spec) {
  const file = resolveDep(spec);
  return file ? import(pathToFileURL(file).href) : null;
}

// The path of an executable in node_modules/.bin, or null.
export function depBin(name) {
  const p = path.join(modulesDir, '.bin', name);
  return depsDir && existsSync(p) ? p : null;
}

// A test that cannot run here skips, unless SKILLBOX_STRICT=1.
export function requireOrSkip(t, what, ok) {
  if (ok) return true;
  if (strict) throw new Error(`${what} is not available (SKILLBOX_STRICT=1)`);
  t.skip(`${what} is not available`);
  return false;
}
