/** File operations that must survive a crash or leave nothing readable behind. */
import fs from 'node:fs';
import path from 'node:path';

/** Makes a directory's entries (a file made, renamed or deleted) durable. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A file overwritten with zeros and synced, then removed, its directory synced: what a destroyed key leaves. */
export function shredFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const size = fs.fstatSync(fd).size;
    fs.writeSync(fd, Buffer.alloc(size, 0), 0, size, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.unlinkSync(file);
  syncDir(path.dirname(file));
}
