// Starts one Masthead server with the demo publication on a free loopback
// port, in a fresh data directory, and stops it again.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STARTUP_TIMEOUT_MS = 60_000; // demo seeding takes a few seconds
const STOP_TIMEOUT_MS = 10_000;

/** Asks the kernel for a free port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The environment for the server: ours minus any MASTHEAD_* settings a
 * developer may have exported (a database URL, a config file…), so the run
 * always uses the fresh data directory. MASTHEAD_THEME_DIR is kept on
 * purpose: it lets template changes be tried without recompiling.
 */
function serverEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('MASTHEAD_') || k === 'MASTHEAD_THEME_DIR') env[k] = v;
  }
  env.MASTHEAD_LOG = 'warn';
  return { ...env, ...extra };
}

/**
 * Options: `env`, extra environment for the server (e.g. MASTHEAD_SMTP_URL),
 * applied after the MASTHEAD_* settings above were dropped.
 */
export async function startServer({ env = {} } = {}) {
  const bin = process.env.MASTHEAD_BIN;
  if (!bin) throw new Error('MASTHEAD_BIN is not set (tests/browser/run sets it)');

  const dataDir = await mkdtemp(join(tmpdir(), 'masthead-browser-'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(
    bin,
    ['--data-dir', dataDir, 'serve', '--demo', '--listen', `127.0.0.1:${port}`],
    // cwd is the data dir so that a ./masthead.toml in the repo is not read.
    { cwd: dataDir, env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] },
  );

  // Keep the server's output, to show it if something goes wrong.
  let log = '';
  const keep = (chunk) => { log = (log + chunk).slice(-20_000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); });
  });
  // Never leave the server behind, even if this process dies abruptly.
  const killOnExit = () => { if (!exited) child.kill('SIGKILL'); };
  process.on('exit', killOnExit);

  const server = {
    origin,
    dataDir,
    url: (path) => new URL(path, origin).href,
    log: () => log,
    async stop() {
      process.off('exit', killOnExit);
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exitPromise;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
      return exited;
    },
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      await server.stop();
      throw new Error(`masthead exited during startup (${JSON.stringify(exited)}):\n${log}`);
    }
    try {
      const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`masthead was not healthy after ${STARTUP_TIMEOUT_MS / 1000} s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
