// Shared by the integration scripts: load the pinned npm packages that
// tests/setup installs into $SKILLBOX_DEPS/node_modules, and decide whether
// a script can run on this machine.
//
// A script whose tools or packages are missing skips its tests (TAP
// "# SKIP"), except under SKILLBOX_STRICT=1 (CI), where it must fail.

import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const strict = process.env.SKILLBOX_STRICT === '1';

// The directory holding node_modules with the pinned packages.
export function depsDir() {
  return process.env.SKILLBOX_DEPS || '';
}

// Resolve a pinned package from $SKILLBOX_DEPS, never from this tree.
export function resolvePackage(name) {
  const require = createRequire(path.join(depsDir(), '/'));
  return require.resolve(name);
}

// Import a pinned package (its entry point as resolved above).
export async function loadPackage(name) {
  return import(resolvePackage(name));
}

// The full path of a program on PATH, or null.
export function which(program) {
  for (const dir of (process.env.PATH || '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, program);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

// Why a script cannot run here, or null: a missing package, program on
// PATH, or file (a built binary).
export function missing({ packages = [], programs = [], files = [] } = {}) {
  for (const name of packages) {
    try {
      resolvePackage(name);
    } catch {
      return `npm package ${name} is not installed in SKILLBOX_DEPS ` +
        `(${depsDir() || 'unset'}); run tests/setup`;
    }
  }
  for (const program of programs) {
    if (!which(program)) return `${program} is not installed`;
  }
  for (const file of files) {
    if (!existsSync(file)) return `${file} is not built`;
  }
  return null;
}

// The node:test "skip" option for a script's tests: the reason when
// something is missing, or false (run) when all is there or when
// SKILLBOX_STRICT=1 demands that a missing requirement fails.
export function skipUnless(requirements) {
  const why = missing(requirements);
  return why && !strict ? why : false;
}
