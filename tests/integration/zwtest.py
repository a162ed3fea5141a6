"""Starts the real zenwatch binary for integration tests and talks HTTP to it."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

BINARY = os.environ.get("ZW_BINARY", "")


class Server:
    """One zenwatch process on 127.0.0.1 with an ephemeral port."""

    def __init__(self, data_dir=None, extra_args=()):
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="zw-it-")
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.log_path = None

    def start(self, timeout=30):
        if not BINARY or not os.path.exists(BINARY):
            raise RuntimeError("ZW_BINARY does not point at the zenwatch binary")
        fd, self.log_path = tempfile.mkstemp(prefix="zw-log-", suffix=".txt")
        self.log = os.fdopen(fd, "w")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("zenwatch exited early (exit status %s):\n%s" % (self.proc.returncode, self.output()))
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.output())
            if m:
                self.port = int(m.group(1))
                return self
            time.sleep(0.05)
        raise RuntimeError("zenwatch did not start:\n" + self.output())

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode if self.proc else None

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
        if self.log_path and os.path.exists(self.log_path):
            os.unlink(self.log_path)
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def request(self, method, path, body=None, params=None, headers=None, conn=None):
        """Returns (status, headers dict, body bytes)."""
        if params:
            path += "?" + urllib.parse.urlencode(params, doseq=True)
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            if isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                conn.close()

    def get_json(self, path, params=None):
        status, _, body = self.request("GET", path, params=params)
        return status, json.loads(body) if body else None

    def push(self, body):
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        status, _, data = self.request("POST", "/api/v1/push", body=body,
                                       headers={"Content-Type": "application/json"})
        return status, (json.loads(data) if data else None)
