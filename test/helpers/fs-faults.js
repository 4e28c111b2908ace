// Preloaded by the CLI tests (NODE_OPTIONS=--require …/fs-faults.js): file-system faults as the
// kernel would report them, on paths whose name contains FS_FAULT_PATH.
//   FS_FAULT_CODE=EROFS|EACCES|ENOSPC|EIO|…   the errno of the fault
//   FS_FAULT_CALLS=openSync,renameSync,…      which calls fail (default: every one below)
//   FS_FAULT_AFTER_BYTES=n                    writeSync fails only once n bytes reached the file
//   FS_SHORT_WRITES=n                         writeSync moves at most n bytes per call (no error)
'use strict';
const fs = require('fs');
const os = require('os');

const where = process.env.FS_FAULT_PATH;
const code = process.env.FS_FAULT_CODE;
const calls = new Set((process.env.FS_FAULT_CALLS || 'openSync,writeSync,renameSync,mkdirSync,fsyncSync,unlinkSync').split(','));
const afterBytes = Number(process.env.FS_FAULT_AFTER_BYTES || 0);
const shortWrites = Number(process.env.FS_SHORT_WRITES || 0);
const fdPath = new Map();
const written = new Map();

function fault(syscall, p) {
  const e = new Error(`${code}: simulated fault, ${syscall} '${p}'`);
  e.code = code;
  e.errno = -(os.constants.errno[code] || 5);
  e.syscall = syscall.replace(/Sync$/, '');
  e.path = String(p);
  return e;
}
const hit = (p) => where && String(p).includes(where);

if (where) {
  const open = fs.openSync;
  fs.openSync = function (p, ...rest) {
    if (code && calls.has('openSync') && hit(p)) throw fault('openSync', p);
    const fd = open.call(fs, p, ...rest);
    fdPath.set(fd, String(p));
    return fd;
  };
  const write = fs.writeSync;
  fs.writeSync = function (fd, buf, offset, length, position) {
    const p = fdPath.get(fd);
    if (p !== undefined && hit(p) && typeof buf !== 'string') {
      if (code && calls.has('writeSync') && (written.get(p) || 0) >= afterBytes) throw fault('writeSync', p);
      let len = length === undefined ? buf.byteLength - (offset || 0) : length;
      if (shortWrites) len = Math.min(len, shortWrites);
      if (code && calls.has('writeSync')) len = Math.min(len, Math.max(1, afterBytes - (written.get(p) || 0)));
      const n = write.call(fs, fd, buf, offset, len, position);
      written.set(p, (written.get(p) || 0) + n);
      return n;
    }
    return write.call(fs, fd, buf, offset, length, position);
  };
  for (const name of ['renameSync', 'mkdirSync', 'unlinkSync']) {
    const orig = fs[name];
    fs[name] = function (p, ...rest) {
      if (code && calls.has(name) && (hit(p) || (name === 'renameSync' && hit(rest[0])))) throw fault(name, name === 'renameSync' ? rest[0] : p);
      return orig.call(fs, p, ...rest);
    };
  }
  const fsync = fs.fsyncSync;
  fs.fsyncSync = function (fd) {
    const p = fdPath.get(fd);
    if (code && calls.has('fsyncSync') && p !== undefined && hit(p)) throw fault('fsyncSync', p);
    return fsync.call(fs, fd);
  };
}
