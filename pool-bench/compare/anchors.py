#!/usr/bin/python3
"""The anchors carpo-pool is measured against, running the same workloads as Ours.java.

Each run prints one JSON line: {"impl", "workload", "spec", "n", "value", "unit", ...}.

  raw-rt      a bare pyzmq client on one warm kernel (the floor: what the kernel itself costs)
  jc-rt       jupyter_client BlockingKernelClient.execute_interactive on one warm kernel
  jc-threads  jupyter_client, N kernels, one thread (and client) per kernel; tiny or sleep jobs
  jc-start    jupyter_client starting N kernels concurrently until each answers kernel_info
  ipp         ipyparallel: N engines, a load-balanced view; tiny or sleep tasks, and apply_sync latency
"""
import argparse
import hashlib
import hmac
import json
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jupyter_client
import zmq
from jupyter_client import KernelManager

TINY = "1"
SLEEP = "time.sleep(0.01)"


def emit(**record):
    print(json.dumps(record), flush=True)


def percentiles(samples_ms):
    s = sorted(samples_ms)
    return {"p50": s[len(s) // 2], "p99": s[min(len(s) - 1, int(len(s) * 0.99))], "mean": statistics.fmean(s)}


def start_kernel(spec):
    km = KernelManager(kernel_name=spec)
    km.start_kernel()
    kc = km.blocking_client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    return km, kc


def stop_kernel(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=False)


class RawClient:
    """execute_request over bare pyzmq: sign, send on shell, wait for the reply and iopub idle."""

    def __init__(self, connection):
        self.key = connection["key"].encode()
        self.session = uuid.uuid4().hex
        ctx = zmq.Context.instance()
        url = "tcp://%s:%%d" % connection["ip"]
        self.shell = ctx.socket(zmq.DEALER)
        self.shell.connect(url % connection["shell_port"])
        self.iopub = ctx.socket(zmq.SUB)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.iopub.connect(url % connection["iopub_port"])
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)

    def sign(self, parts):
        h = hmac.new(self.key, digestmod=hashlib.sha256)
        for p in parts:
            h.update(p)
        return h.hexdigest().encode()

    def execute(self, code):
        msg_id = uuid.uuid4().hex
        header = json.dumps({"msg_id": msg_id, "session": self.session, "username": "bench", "msg_type": "execute_request",
                             "version": "5.3", "date": "2026-01-01T00:00:00Z"}).encode()
        content = json.dumps({"code": code, "silent": False, "store_history": True, "user_expressions": {},
                              "allow_stdin": False, "stop_on_error": False}).encode()
        parts = [header, b"{}", b"{}", content]
        self.shell.send_multipart([b"<IDS|MSG>", self.sign(parts)] + parts)
        replied = idle = False
        while not (replied and idle):
            for sock, _ in self.poller.poll(30000):
                frames = sock.recv_multipart()
                i = frames.index(b"<IDS|MSG>")
                if self.sign(frames[i + 2:i + 6]) != frames[i + 1]:
                    raise RuntimeError("bad signature")
                parent = json.loads(frames[i + 3])
                if parent.get("msg_id") != msg_id:
                    continue
                if sock is self.shell:
                    replied = True
                elif json.loads(frames[i + 2])["msg_type"] == "status" and json.loads(frames[i + 5])["execution_state"] == "idle":
                    idle = True


def round_trips(execute, runs, warmup):
    for _ in range(warmup):
        execute(TINY)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        execute(TINY)
        samples.append((time.perf_counter() - t) * 1000)
    return percentiles(samples)


def raw_rt(a):
    km, kc = start_kernel(a.spec)
    try:
        kc.stop_channels()  # only the raw client talks to the kernel
        client = RawClient(km.get_connection_info(session=False) | {"key": km.session.key.decode()})
        r = round_trips(client.execute, a.jobs, a.warmup)
        emit(impl="raw-pyzmq", workload="round trip p50", spec=a.spec, n=1, value=r["p50"], unit="ms", p99=r["p99"], mean=r["mean"])
    finally:
        km.shutdown_kernel(now=True)


def jc_rt(a):
    km, kc = start_kernel(a.spec)
    try:
        r = round_trips(lambda code: kc.execute_interactive(code, timeout=30, output_hook=lambda m: None), a.jobs, a.warmup)
        emit(impl="jupyter_client", workload="round trip p50", spec=a.spec, n=1, value=r["p50"], unit="ms", p99=r["p99"], mean=r["mean"])
    finally:
        stop_kernel(km, kc)


def jc_threads(a):
    code = SLEEP if a.work == "sleep" else TINY
    kernels = [start_kernel(a.spec) for _ in range(a.n)]
    try:
        if a.work == "sleep":  # Python kernels only; the built-in kernels run the tiny work
            for _, kc in kernels:
                kc.execute_interactive("import time", timeout=30, output_hook=lambda m: None)
        per_kernel = a.jobs // a.n
        barrier = threading.Barrier(a.n + 1)

        def worker(kc):
            barrier.wait()
            for _ in range(per_kernel):
                kc.execute_interactive(code, timeout=30, output_hook=lambda m: None)

        threads = [threading.Thread(target=worker, args=(kc,)) for _, kc in kernels]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu_ms = (time.process_time() - cpu0) * 1000 / (per_kernel * a.n)
        emit(impl="jupyter_client", workload="%s jobs/s" % a.work, spec=a.spec, n=a.n, value=per_kernel * a.n / elapsed, unit="jobs/s",
             client_cpu_ms_per_job=cpu_ms)
    finally:
        for km, kc in kernels:
            stop_kernel(km, kc)


def jc_start(a):
    t0 = time.perf_counter()
    with ThreadPoolExecutor(a.n) as pool:
        kernels = list(pool.map(lambda _: start_kernel(a.spec), range(a.n)))
    elapsed = time.perf_counter() - t0
    ports = [p for km, _ in kernels for p in (km.shell_port, km.iopub_port, km.stdin_port, km.control_port, km.hb_port)]
    emit(impl="jupyter_client", workload="%d kernels to ready" % a.n, spec=a.spec, n=a.n, value=elapsed * 1000, unit="ms",
         port_collisions=len(ports) - len(set(ports)))
    for km, kc in kernels:
        stop_kernel(km, kc)


def ipp(a):
    import ipyparallel

    cluster = ipyparallel.Cluster(n=a.n, log_level=40)
    rc = cluster.start_and_connect_sync()
    try:
        rc.wait_for_engines(a.n, timeout=120)
        view = rc.load_balanced_view()
        if a.work == "latency":
            direct = rc[0]
            r = round_trips(lambda code: direct.apply_sync(int, 1), a.jobs, a.warmup)
            emit(impl="ipyparallel", workload="round trip p50", spec="engine", n=1, value=r["p50"], unit="ms", p99=r["p99"], mean=r["mean"])
            return
        task = (lambda x: __import__("time").sleep(0.01)) if a.work == "sleep" else (lambda x: x)
        view.map_sync(task, range(a.n * 4))  # warm
        t0 = time.perf_counter()
        view.map_sync(task, range(a.jobs))
        elapsed = time.perf_counter() - t0
        emit(impl="ipyparallel", workload="%s jobs/s" % a.work, spec="engine", n=a.n, value=a.jobs / elapsed, unit="jobs/s")
    finally:
        rc.close()
        cluster.stop_cluster_sync()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["raw-rt", "jc-rt", "jc-threads", "jc-start", "ipp"])
    p.add_argument("--spec", default="python3")
    p.add_argument("--n", type=int, default=1)
    p.add_argument("--jobs", type=int, default=300)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--work", choices=["tiny", "sleep", "latency"], default="tiny")
    a = p.parse_args()
    {"raw-rt": raw_rt, "jc-rt": jc_rt, "jc-threads": jc_threads, "jc-start": jc_start, "ipp": ipp}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
