import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { AppError } from './errors.ts';

export interface LocalRedis {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, as the kernel hands it out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real redis-server owned by this process: data under `dir`, AOF on, no eviction
 * (queues and idempotency keys must never be evicted), bound to loopback. A redis-server left
 * behind by a crashed earlier run of the same directory is stopped first.
 *
 * The AOF is rewritten once it has doubled and passed 512 MB (Redis's default is 64 MB): a 2M
 * recipient delivery appends its audience (about 72 MB of batches) at once, and with the default a
 * rewrite — a fork and a child process serialising the whole dataset — ran in the middle of every
 * such delivery, on the cores its requests needed.
 */
export async function startLocalRedis(opts: { dir: string; port?: number; bin?: string }): Promise<LocalRedis> {
  const bin = opts.bin ?? 'redis-server';
  fs.mkdirSync(opts.dir, { recursive: true });
  const pidFile = path.join(opts.dir, 'redis.pid');
  await stopStale(pidFile);

  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = opts.port || (await freePort());
    const child = spawn(
      bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--protected-mode',
        'yes',
        '--dir',
        opts.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--auto-aof-rewrite-min-size',
        '512mb',
        '--maxmemory-policy',
        'noeviction',
        '--save',
        '',
        '--daemonize',
        'no',
        '--pidfile',
        pidFile,
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d) => (output = (output + d).slice(-4000)));
    child.stderr!.on('data', (d) => (output = (output + d).slice(-4000)));
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('error', resolve);
      child.once('spawn', () => resolve(undefined));
    });
    if (spawnError) {
      throw new AppError(
        'redis_missing',
        `redis-server を起動できません (${bin}): ${spawnError.message}。sudo apt-get install -y redis-server で導入してください`,
        500,
      );
    }
    const killOnExit = () => child.kill('SIGTERM');
    process.once('exit', killOnExit);
    if (await waitForPing(port, child)) {
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        pid: child.pid!,
        stop: () => stopChild(child, killOnExit),
      };
    }
    process.removeListener('exit', killOnExit);
    child.kill('SIGKILL');
    lastError = output.trim();
    if (opts.port) break;
  }
  throw new AppError(
    'redis_start_failed',
    `redis-server が起動しませんでした: ${lastError.split('\n').slice(-3).join(' ')}`,
    500,
  );
}

/** Stops a redis-server left running on this directory by a crashed run, and waits until it is gone. */
async function stopStale(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  const isRedis = () => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
    } catch {
      return false;
    }
  };
  if (!Number.isInteger(pid) || pid <= 1 || !isRedis()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && isRedis(); i++) {
    if (i === 100) process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForPing(port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) return false;
    if (await ping(port)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Sends PING over a raw socket (no client library needed to know the server is up). */
export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function stopChild(child: ChildProcess, killOnExit: () => void): Promise<void> {
  process.removeListener('exit', killOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
