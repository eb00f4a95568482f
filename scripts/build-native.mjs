#!/usr/bin/env node
/**
 * Builds the optional native Ed25519 verifier (native/ed25519_verify.c, see
 * binding.gyp) with node-gyp. Runs as the package's `install` script.
 *
 * The addon is only an accelerator: src/crypto/native-ed25519.ts falls back
 * to node:crypto when build/Release/ed25519_verify.node is missing. So this
 * script never fails an installation: on any problem it prints one warning
 * line on stderr and exits 0. EGRESS_VERIFY_NO_NATIVE=1 skips the build.
 *
 * node-gyp is looked for, in order: on PATH (npm puts its own wrapper there
 * for lifecycle scripts), npm_config_node_gyp, the copy inside npm's own
 * folder (found from npm_execpath or next to the node binary), and finally
 * `npm exec --yes=false node-gyp -- rebuild` (never downloads anything).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = path.join(root, 'build', 'Release', 'ed25519_verify.node');
const logPath = path.join(root, 'build', 'native-build.log');

function warn(reason) {
  process.stderr.write(
    `egress-verify: native Ed25519 verifier not built (${reason}); falling back to node:crypto\n`,
  );
}

/** An executable named `name` on PATH, or null. */
function onPath(name) {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.CMD;.EXE').split(';') : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext.toLowerCase());
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** The ways to run `node-gyp rebuild`, best first, without duplicates. */
function candidates() {
  const list = [];
  const seenScripts = new Set();
  const addScript = (file, label) => {
    if (!file) return;
    const resolved = path.resolve(file);
    if (seenScripts.has(resolved) || !fs.existsSync(resolved)) return;
    seenScripts.add(resolved);
    list.push({ label, command: process.execPath, args: [resolved, 'rebuild'] });
  };

  const gypOnPath = onPath('node-gyp');
  if (gypOnPath) {
    list.push({
      label: `node-gyp on PATH (${gypOnPath})`,
      command: gypOnPath,
      args: ['rebuild'],
      shell: process.platform === 'win32',
    });
  }
  const configured = process.env.npm_config_node_gyp;
  if (configured && configured.endsWith('.js')) addScript(configured, 'npm_config_node_gyp');
  const npmExec = process.env.npm_execpath;
  if (npmExec) addScript(path.join(path.dirname(npmExec), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), "npm's node-gyp");
  const nodeDir = path.dirname(process.execPath);
  addScript(path.join(nodeDir, '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), "npm's node-gyp");
  addScript(path.join(nodeDir, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), "npm's node-gyp");

  if (npmExec && /\.c?js$/.test(npmExec)) {
    list.push({
      label: 'npm exec node-gyp',
      command: process.execPath,
      args: [npmExec, 'exec', '--yes=false', 'node-gyp', '--', 'rebuild'],
    });
  } else {
    const npm = onPath('npm');
    if (npm) {
      list.push({
        label: 'npm exec node-gyp',
        command: npm,
        args: ['exec', '--yes=false', 'node-gyp', '--', 'rebuild'],
        shell: process.platform === 'win32',
      });
    }
  }
  return list;
}

/**
 * Outside npm (e.g. `node scripts/build-native.mjs`), point node-gyp at the
 * headers installed next to this node (PREFIX/include/node) so it does not
 * try to download them.
 */
function buildEnv() {
  const env = { ...process.env };
  if (!env.npm_config_nodedir) {
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    if (fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) env.npm_config_nodedir = prefix;
  }
  return env;
}

/**
 * A short reason from node-gyp's output: a compiler diagnostic, else an
 * exception line (Python's or node-gyp's), else make's, else the last line.
 */
function summarize(output, status, signal) {
  const lines = output.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const patterns = [
    /^(?!gyp ERR!).*(^|\s)(fatal )?error:/i,
    /^(?!gyp ERR!)\S*(Error|Exception)\b.*:/,
    /^gyp ERR! stack \w*Error:/,
    /make: \*\*\*/,
    /\berror\b/i,
  ];
  let err = '';
  for (const re of patterns) {
    const hit = lines.find((l) => re.test(l));
    if (hit) {
      err = hit;
      break;
    }
  }
  err ||= lines.at(-1) ?? '';
  const how = signal ? `killed by ${signal}` : `exit code ${status}`;
  return `${how}${err ? `: ${err.slice(0, 200)}` : ''}`;
}

function writeLog(text) {
  try {
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    fs.writeFileSync(logPath, text);
    return true;
  } catch {
    return false;
  }
}

function main() {
  if (process.env.EGRESS_VERIFY_NO_NATIVE === '1') {
    process.stderr.write('egress-verify: EGRESS_VERIFY_NO_NATIVE=1, native Ed25519 verifier skipped; using node:crypto\n');
    return;
  }
  for (const file of ['binding.gyp', path.join('native', 'ed25519_verify.c')]) {
    if (!fs.existsSync(path.join(root, file))) {
      warn(`${file} is missing`);
      return;
    }
  }
  const tries = candidates();
  if (tries.length === 0) {
    warn('node-gyp not found');
    return;
  }
  const env = buildEnv();
  let log = '';
  let firstFailure = null;
  for (const t of tries) {
    const r = spawnSync(t.command, t.args, {
      cwd: root,
      env,
      encoding: 'utf8',
      shell: t.shell ?? false,
      timeout: 10 * 60 * 1000,
      maxBuffer: 64 * 1024 * 1024,
    });
    log += `$ ${[t.command, ...t.args].join(' ')}   # ${t.label}\n${r.stdout ?? ''}${r.stderr ?? ''}\n`;
    if (r.error) {
      log += `${r.error.message}\n`;
      firstFailure ??= `${t.label}: ${r.error.message}`;
      continue;
    }
    if (r.status === 0 && fs.existsSync(addonPath)) {
      writeLog(log);
      // Load it once: the module's initialiser runs a self-test and throws if the arithmetic is wrong.
      try {
        createRequire(import.meta.url)(addonPath);
      } catch (e) {
        try {
          fs.rmSync(addonPath, { force: true });
        } catch {
          // the loader copes with a broken file too
        }
        warn(`the built addon does not load: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      process.stdout.write(`egress-verify: native Ed25519 verifier built (${path.relative(root, addonPath)})\n`);
      return;
    }
    firstFailure ??= `${t.label}, ${summarize(`${r.stdout ?? ''}\n${r.stderr ?? ''}`, r.status, r.signal)}`;
    // A failed compile would fail the same way with another node-gyp; only a missing or
    // broken node-gyp is worth another try, and the next candidates are cheap to attempt.
  }
  const logged = writeLog(log);
  warn(`${firstFailure ?? 'node-gyp failed'}${logged ? `; full log in ${path.relative(root, logPath)}` : ''}`);
}

try {
  main();
} catch (e) {
  warn(`unexpected error: ${e instanceof Error ? e.message : String(e)}`);
}
process.exitCode = 0;
