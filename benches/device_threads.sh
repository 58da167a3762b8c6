#!/usr/bin/env bash
# Thread scaling on the lent 16-core machine (issue 5): the 100M-impression run, directory of
# Parquet parts in → labeled Parquet out, at 1, 2, 4, 8 and 16 threads, plus the in-memory join
# and label_metrics. Run through the device tool from the repo root, carrying the abi3 wheel:
#
#     maturin build --release -o .whl          # here, once
#     bash benches/device_threads.sh [DAYS] [REQUESTS_PER_DAY]    # there; $OUT gets the logs
set -euo pipefail
DAYS=${1:-10}
REQUESTS=${2:-1000000}
OUT=${OUT:-/tmp/lw-out}
DATA=${DATA:-/tmp/lw-data}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/lw-site .whl/*.whl
export PYTHONPATH=/tmp/lw-site PYTHONUNBUFFERED=1
python3 -c "import sys, loopwatch, pyarrow, numpy; print(sys.version.split()[0], 'pyarrow', pyarrow.__version__, 'numpy', numpy.__version__)"
echo "nproc $(nproc); $(df -h "$(dirname "$DATA")" | tail -1)"
python3 benches/generate_parts.py "$DATA" --days "$DAYS" --requests "$REQUESTS" | tail -1
du -sh "$DATA"
cd benches
# Where the time goes at 1 and 16 threads (stage traces; TRACE_THREADS to change), before the
# scaling table (MEMORY_LIMITS: the budgets of the Parquet runs).
for t in ${TRACE_THREADS:-1 16}; do
LOOPWATCH_TRACE=1 python3 - "$DATA" "$t" 2>"$OUT/trace$t.log" <<'PY'
import sys, tempfile, time, loopwatch as lw
d, threads = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
lw.label_join(f"{d}/predictions", f"{d}/feedback", on=["user_id", "item_id"], windows="30m",
              output=tempfile.mkdtemp() + "/labeled.parquet", memory_limit="1GiB", threads=threads)
print(f"traced run, {threads} threads: {time.perf_counter() - t0:.2f} s")
PY
grep -v -E "events|candidates|credit|label columns|normalize" "$OUT/trace$t.log"
done
python3 run_threads.py --requests "$REQUESTS" --parts "$DATA" --threads 1,2,4,8,16 \
    --memory-limits "${MEMORY_LIMITS:-1GiB,4GiB}" \
    | tee "$OUT/threads.md"
