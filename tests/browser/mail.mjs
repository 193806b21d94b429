// A real SMTP server for the account flows: Python's aiosmtpd on a free
// loopback port, storing every message it receives in a maildir, and a
// reader for that maildir. aiosmtpd is required: when it is missing the
// run fails with a clear message, it is never skipped.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server.mjs';

const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const PYTHON = process.env.PYTHON || 'python3';

/** Resolves true once something on `port` greets like an SMTP server. */
function smtpGreets(port) {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(2_000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('data', (chunk) => {
      data += chunk;
      if (data.includes('\n')) done(data.startsWith('220'));
    });
  });
}

/**
 * Starts `python3 -m aiosmtpd` with the Mailbox handler. Returns
 * { url, maildir, waitFor, stop }; `url` is what MASTHEAD_SMTP_URL takes
 * (plain SMTP: lettre's `smtp://host:port` without `?tls=` uses no TLS).
 */
export async function startMailServer() {
  const dir = await mkdtemp(join(tmpdir(), 'masthead-mail-'));
  const maildir = join(dir, 'maildir');
  const port = await freePort();
  let child;
  try {
    child = spawn(PYTHON,
      ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`could not run ${PYTHON} for the SMTP server (set PYTHON to override): ${e.message}`);
  }
  let log = '';
  const keep = (chunk) => { log = (log + chunk).slice(-20_000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  let spawnError = null;
  child.on('error', (e) => { spawnError = e; });
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); });
  });
  const killOnExit = () => { if (!exited) child.kill('SIGKILL'); };
  process.on('exit', killOnExit);

  const server = {
    url: `smtp://127.0.0.1:${port}`,
    maildir,
    log: () => log,
    /** All messages received so far, parsed. */
    messages: () => readMaildir(maildir),
    /**
     * Polls the maildir for a message to `to` whose decoded text matches
     * `pattern`; resolves { message, match }.
     */
    async waitFor(to, pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const m of await readMaildir(maildir)) {
          if (!m.to.toLowerCase().includes(to.toLowerCase())) continue;
          const match = m.text.match(pattern);
          if (match) return { message: m, match };
        }
        if (Date.now() > deadline) {
          const seen = (await readMaildir(maildir)).map((m) => `  to ${m.to}: ${m.subject}`).join('\n');
          throw new Error(`no email to ${to} matching ${pattern} within ${timeoutMs / 1000} s; ` +
            `the maildir holds:\n${seen || '  (nothing)'}\nSMTP server log:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      process.off('exit', killOnExit);
      if (!exited && !spawnError) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exitPromise;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (spawnError) {
      await server.stop();
      throw new Error(`could not run ${PYTHON} for the SMTP server (set PYTHON to override): ${spawnError.message}`);
    }
    if (exited) {
      await server.stop();
      const missing = /No module named aiosmtpd/.test(log);
      throw new Error(missing
        ? `aiosmtpd is not installed for ${PYTHON}: the account-flow tests need a real SMTP server ` +
          `(pip install aiosmtpd)\n${log}`
        : `the SMTP server (${PYTHON} -m aiosmtpd) exited during startup (${JSON.stringify(exited)}):\n${log}`);
    }
    if (await smtpGreets(port)) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`the SMTP server (${PYTHON} -m aiosmtpd) did not answer on port ${port} ` +
        `after ${STARTUP_TIMEOUT_MS / 1000} s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads every message in maildir/new (the Mailbox handler delivers there). */
async function readMaildir(maildir) {
  let names;
  try {
    names = (await readdir(join(maildir, 'new'))).sort();
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
  const out = [];
  for (const name of names) {
    try {
      out.push(parseMessage(await readFile(join(maildir, 'new', name), 'utf8')));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e; // moved away meanwhile
    }
  }
  return out;
}

/**
 * Just enough RFC 5322 for our single-part text messages: unfolded
 * headers and the body decoded from quoted-printable, base64 or 7/8bit.
 */
export function parseMessage(raw) {
  const src = raw.replace(/\r\n/g, '\n');
  const split = src.indexOf('\n\n');
  const head = split < 0 ? src : src.slice(0, split);
  const body = split < 0 ? '' : src.slice(split + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const cte = (headers['content-transfer-encoding'] || '7bit').toLowerCase();
  let text;
  if (cte === 'quoted-printable') {
    const bytes = [];
    const soft = body.replace(/=\n/g, '');
    for (let i = 0; i < soft.length; i++) {
      if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
        bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(soft[i], 'utf8'));
      }
    }
    text = Buffer.from(bytes).toString('utf8');
  } else if (cte === 'base64') {
    text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  } else {
    text = body;
  }
  return { headers, to: headers.to || '', subject: headers.subject || '', text };
}
