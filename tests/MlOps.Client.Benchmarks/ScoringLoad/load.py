"""Closed-loop load on an MLflow scoring server (copied from the project's shared tools; bodies: 1 row of the iris
test split and the first 100 rows of iris.csv). (Python `mlflow models serve` or ours): K threads, each with one
persistent http.client connection, POST /invocations back to back for DURATION s after a 2 s warm-up.
usage: python3 load.py PORT [DURATION_S] [SERVER_PID] [IRIS_DATA_DIR]   (run from the project root; prints a table)"""
import csv, http.client, json, os, sys, threading, time

HOST, PORT = "127.0.0.1", int(sys.argv[1])
DATA_DIR = sys.argv[4] if len(sys.argv) > 4 else "samples/XGBoostIris/data"
DURATION = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
SERVER_PID = int(sys.argv[3]) if len(sys.argv) > 3 else None
import os
TICK = os.sysconf("SC_CLK_TCK")
def server_cpu():
    if not SERVER_PID: return 0.0
    f = open(f"/proc/{SERVER_PID}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK
def client_cpu():
    t = os.times(); return t.user + t.system
D = DATA_DIR
rows = list(csv.DictReader(open(f"{D}/iris.csv")))
split = sorted([r for r in csv.DictReader(open(f"{D}/iris-split-rs25.csv")) if r["set"] == "test"], key=lambda r: int(r["order"]))
cols = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
X = [[float(rows[int(r["row"])][c]) for c in cols] for r in split]
X100 = [[float(r[c]) for c in cols] for r in rows[:100]]  # the first 100 rows of iris.csv
# LOAD_COLUMNS renames the columns sent (e.g. "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)"
# for the model samples/MonitorDrift logs).
sent = os.environ["LOAD_COLUMNS"].split(",") if os.environ.get("LOAD_COLUMNS") else cols
BODIES = {
    "1-row dataframe_split": json.dumps({"dataframe_split": {"columns": sent, "data": X[:1]}}).encode(),
    "100-row dataframe_split": json.dumps({"dataframe_split": {"columns": sent, "data": X100}}).encode(),
}
if os.environ.get("LOAD_BODIES"):  # e.g. LOAD_BODIES=1 for the 1-row body only
    BODIES = {k: v for k, v in BODIES.items() if k.split("-")[0] in os.environ["LOAD_BODIES"].split(",")}
CONNS = [int(k) for k in os.environ.get("LOAD_CONNS", "1,4,16").split(",")]
HDR = {"Content-Type": "application/json"}

def run(body, k, seconds):
    lat = [[] for _ in range(k)]; errs = [0] * k
    stop_at = [0.0]; start_evt = threading.Event()
    def worker(j):
        c = http.client.HTTPConnection(HOST, PORT, timeout=30)
        start_evt.wait()
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at[0]: break
            try:
                c.request("POST", "/invocations", body, HDR)
                r = c.getresponse(); data = r.read()
                t1 = time.perf_counter()
                if r.status != 200 or not data.startswith(b'{"predictions"'):
                    errs[j] += 1
                else:
                    lat[j].append(t1 - t0)
            except Exception:
                errs[j] += 1
                c.close(); c = http.client.HTTPConnection(HOST, PORT, timeout=30)
        c.close()
    th = [threading.Thread(target=worker, args=(j,)) for j in range(k)]
    [t.start() for t in th]
    s0, c0 = server_cpu(), client_cpu()
    t_start = time.perf_counter(); stop_at[0] = t_start + seconds; start_evt.set()
    [t.join() for t in th]
    elapsed = time.perf_counter() - t_start
    scpu, ccpu = (server_cpu() - s0) / elapsed, (client_cpu() - c0) / elapsed
    all_lat = sorted(x for l in lat for x in l)
    n = len(all_lat)
    pct = lambda p: all_lat[min(n - 1, int(round(p / 100 * (n - 1))))] * 1000
    return n, sum(errs), elapsed, pct(50), pct(99), (sum(all_lat) / n * 1000 if n else 0), all_lat[-1] * 1000 if n else 0, scpu, ccpu

print(f"# scoring server http://{HOST}:{PORT}/invocations, closed loop, {DURATION:.0f} s per cell, keep-alive connections, python http.client threads", flush=True)
print(f"{'body':24s} {'conns':>5s} {'requests':>9s} {'errors':>6s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'mean ms':>8s} {'max ms':>8s} {'srv cpu':>7s} {'cli cpu':>7s}", flush=True)
for name, body in BODIES.items():
    for k in CONNS:
        run(body, k, 2.0)  # warm-up
        n, e, el, p50, p99, mean, mx, sc, cc = run(body, k, DURATION)
        print(f"{name:24s} {k:5d} {n:9d} {e:6d} {n/el:8.1f} {p50:8.2f} {p99:8.2f} {mean:8.2f} {mx:8.1f} {sc:7.2f} {cc:7.2f}", flush=True)
