#!/usr/bin/env python3
"""The naive baseline of the Seattle week x10 benchmark (bench/seattle/run.sh): a plain single-threaded
parse-filter-write loop, Python 3 standard library only.

    python3 naive.py READS.ndjson OUT_DIR

Reads READS.ndjson line by line, parses each line with json.loads, applies bench/seattle/policy.yaml's push rule
hard-coded (wa-spd's reads go to the King County Sheriff, allowed; the FBI is denied by Washington's statute) and
writes each allowed delivery to OUT_DIR/shared.ndjson in the shape of replay's shared.ndjson:
{"recipient":...,"decision_id":...,"read":<the read's line as received>}. No audit, no retention, no validation
beyond the JSON parse: what the issue calls the naive parse-filter-write.

The read is spliced into the output as the original line (string formatting), not re-serialised with json.dumps:
a delivery forwards the read as received, as replay does, and splicing is what a plain script would do once it
has decided. decision_id is a per-delivery counter written as 32 hex digits, the width of replay's ids, so that
both shared.ndjson files have the same bytes but for the ids.
"""

import json
import sys

# Push targets per owner, as the bench policy decides them: (recipient, allowed). The agreement names both
# recipients under two purposes; WA.OUT_OF_STATE denies every purpose to the federal agency, so a read is
# delivered once, to wa-kcso.
PUSH = {"wa-spd": (("wa-kcso", True), ("us-fbi", False))}


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: naive.py READS.ndjson OUT_DIR\n")
        return 2
    reads_path, out_dir = argv[1], argv[2]
    reads = deliveries = bad = 0
    with open(reads_path, encoding="utf-8") as src, \
            open(out_dir + "/shared.ndjson", "w", encoding="utf-8") as shared:
        for line in src:
            try:
                read = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            reads += 1
            for recipient, allowed in PUSH.get(read.get("agency_id"), ()):
                if allowed:
                    deliveries += 1
                    shared.write('{"recipient":"%s","decision_id":"%032x","read":%s}\n'
                                 % (recipient, deliveries, line.rstrip("\n")))
    sys.stderr.write("naive: %d reads, %d deliveries, %d unparsable lines\n" % (reads, deliveries, bad))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
