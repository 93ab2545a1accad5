#!/usr/bin/env python3
"""The floor of the Seattle week x10 benchmark (bench/seattle/run.sh): the least work replay's job needs, with nothing
computed. Reads the input once and writes as many bytes as replay wrote to each of its output files, from one
buffer in 1 MiB writes, single-threaded.

    python3 floor.py READS.ndjson OUT_DIR NAME=BYTES...

It is the replay analogue of `streamguard bench`'s one-to-one pipe, done in the plainest way (read everything, then
write, one thread), with nothing decided. A contender that overlaps its reads and writes, or writes on several
threads, can beat it somewhat; what it costs is the file system's, and varies with the machine's write-back (run.sh
times it right after replay's own writes).
"""

import os
import sys

CHUNK = 1 << 20


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: floor.py READS.ndjson OUT_DIR NAME=BYTES...\n")
        return 2
    reads, out = argv[1], argv[2]
    buf = memoryview(bytearray(CHUNK))
    with open(reads, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass
    os.makedirs(out, exist_ok=True)
    for spec in argv[3:]:
        name, _, size = spec.partition("=")
        left = int(size)
        fd = os.open(os.path.join(out, os.path.basename(name)), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            while left > 0:
                left -= os.write(fd, buf[:min(left, CHUNK)])
        finally:
            os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
