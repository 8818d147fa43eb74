"""Cut a small fixture out of a `make demo` recording: `--scrapes` consecutive scrapes ending at the
last scrape where trials were running (so rates and increases have data), `# HELP` lines dropped.

    .venv/bin/python bench/dashboard/sample.py --metrics .demo/metrics.jsonl \\
        --out tests/unit/bench/data/metrics-sample.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

RUNNING = re.compile(r'^cenas_trials\{phase="running"\} ([0-9.e+]+)$', re.MULTILINE)


def trim(records: list[dict], scrapes: int) -> list[dict]:
    def running(record: dict) -> float:
        match = RUNNING.search(record["exposition"][0])
        return float(match.group(1)) if match else 0.0

    busy = [i for i, record in enumerate(records) if running(record) > 0]
    end = (busy[-1] + 1) if busy else len(records)
    start = max(0, end - scrapes)
    return [{"time": record["time"],
             "exposition": ["".join(line for line in text.splitlines(keepends=True)
                                    if not line.startswith("# HELP")) for text in record["exposition"]]}
            for record in records[start:end]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", type=Path, default=Path(".demo/metrics.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("tests/unit/bench/data/metrics-sample.jsonl"))
    parser.add_argument("--scrapes", type=int, default=10)
    args = parser.parse_args()
    records = [json.loads(line) for line in args.metrics.read_text().splitlines() if line.strip()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(record) + "\n" for record in trim(records, args.scrapes)))
    print(f"wrote {args.out}: {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
