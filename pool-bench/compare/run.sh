#!/usr/bin/env bash
# carpo-pool side by side with its anchors: the same workloads, interleaved in one run on one
# machine, then one table. Usage: pool-bench/compare/run.sh [--quick]
#   --quick   a few jobs per workload, python3 only, 2 kernels: proves every path works (CI smoke)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
home="$(cd "$here/../.." && pwd)"
jar="$home/pool-bench/target/benchmarks.jar"
py=/usr/bin/python3   # Debian's python3 has jupyter_client, pyzmq and ipyparallel

quick=""
if [ "${1:-}" = "--quick" ]; then
  quick=1
  specs="python3"; builtins="carpo-lua"; sizes="2"; rt_jobs=30; warmup=5; tp_jobs=80; start_n=4; footprint_n=8
else
  # The JVM needs a few thousand calls before its JIT settles; Python has none to warm.
  specs="python3 xpython"; builtins="carpo-lua carpo-java"; sizes="1 2 4"; rt_jobs=1000; warmup=1000; tp_jobs=1000; start_n=8; footprint_n=32
fi
[ -f "$jar" ] || (cd "$home" && mvn -B -q -Dstyle.color=never -DskipTests -pl pool-bench -am package)

results="$(mktemp)"
# carpo's built-in kernels, installed where jupyter_client (the anchors) finds them too.
builtin_dir="$(mktemp -d)"
trap 'rm -rf "$results" "$builtin_dir"' EXIT
for b in $builtins; do
  java -cp "$jar" dev.carpo.pool.lua.CarpoCommand install-kernel "$b" --prefix "$builtin_dir" > /dev/null
done
export JUPYTER_PATH="$builtin_dir/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
ours() { echo "  carpo: $*" >&2; java -cp "$jar" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn dev.carpo.pool.bench.Ours "$@" >> "$results"; }
theirs() { echo "  anchor: $*" >&2; "$py" "$here/anchors.py" "$@" >> "$results"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(java -version 2>&1 | head -1)" >&2
for spec in $specs; do
  theirs raw-rt --spec "$spec" --jobs "$rt_jobs" --warmup "$warmup"
  ours rt --spec "$spec" --jobs "$rt_jobs" --warmup "$warmup"
  theirs jc-rt --spec "$spec" --jobs "$rt_jobs" --warmup "$warmup"
done
# Remote kernels: the same round trip with the kernel behind a real Jupyter Server on loopback (REST + WebSocket).
if "$py" -c 'import jupyter_server' 2>/dev/null; then
  gw_port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  gw_token=$("$py" -c 'import secrets; print(secrets.token_hex(16))')
  gw_dir="$(mktemp -d)"
  JUPYTER_RUNTIME_DIR="$gw_dir/runtime" JUPYTER_CONFIG_DIR="$gw_dir/config" "$py" -m jupyter_server --no-browser --allow-root \
    --ServerApp.ip=127.0.0.1 --ServerApp.port="$gw_port" --ServerApp.port_retries=0 --ServerApp.token="$gw_token" \
    --ServerApp.root_dir="$gw_dir" > "$gw_dir/server.log" 2>&1 &
  gw_pid=$!
  # (|| true: under set -e a failing kill in the EXIT trap, the server being gone already, would become the exit code)
  trap 'kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; rm -rf "$results" "$builtin_dir" "$gw_dir"' EXIT
  "$py" - "$gw_port" "$gw_token" <<'PY'
import sys, time, urllib.request
req = urllib.request.Request("http://127.0.0.1:%s/api/kernelspecs" % sys.argv[1], headers={"Authorization": "token " + sys.argv[2]})
for _ in range(300):
    try:
        urllib.request.urlopen(req, timeout=2)
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit("Jupyter Server did not answer within 30 s")
PY
  # python3 only: xpython has no installed kernelspec the server could find (BenchKernels makes one for the local runs).
  ours remote-rt --spec python3 --jobs "$rt_jobs" --warmup "$warmup" --gateway "http://127.0.0.1:$gw_port" --token "$gw_token"
  kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true
fi
theirs ipp --work latency --jobs "$rt_jobs" --warmup "$warmup"
for n in $sizes; do
  for work in tiny sleep; do
    for spec in $specs; do
      ours throughput --spec "$spec" --n "$n" --work "$work" --jobs "$tp_jobs" --warmup "$warmup"
      theirs jc-threads --spec "$spec" --n "$n" --work "$work" --jobs "$tp_jobs"
    done
    theirs ipp --n "$n" --work "$work" --jobs "$tp_jobs"
  done
done
# The built-in kernels (a JVM each): round trip and tiny-job throughput.
for spec in $builtins; do
  jobs="$rt_jobs"; warm="$warmup"; tp="$tp_jobs"
  if [ "$spec" = carpo-java ] && [ -z "$quick" ]; then
    jobs=100; warm=20; tp=200   # JShell compiles every cell with javac: about 190 ms each here
  fi
  theirs raw-rt --spec "$spec" --jobs "$jobs" --warmup "$warm"
  ours rt --spec "$spec" --jobs "$jobs" --warmup "$warm"
  theirs jc-rt --spec "$spec" --jobs "$jobs" --warmup "$warm"
  for n in $sizes; do
    ours throughput --spec "$spec" --n "$n" --work tiny --jobs "$tp" --warmup "$warm"
    theirs jc-threads --spec "$spec" --n "$n" --work tiny --jobs "$tp"
  done
done
for spec in $specs; do
  ours start --spec "$spec" --n "$start_n"
  theirs jc-start --spec "$spec" --n "$start_n"
done
ours footprint --n "$footprint_n"
"$py" "$here/table.py" "$results"
