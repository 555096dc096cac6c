"""What the scoring harnesses (compare.py, monitoring.py, limits.py) share."""
import time, urllib.request


def wait(port):
    """Waits (at most 60 s) until a scoring server answers GET /ping on 127.0.0.1:port."""
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1).read()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"no scoring server answered on 127.0.0.1:{port}")
