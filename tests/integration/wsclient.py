"""A minimal WebSocket client (RFC 6455) on the Python standard library, for tests.

Text frames only; client frames are masked as the RFC requires; pings are answered; the close
handshake is completed. Not a general-purpose client: no extensions, no fragmentation on send.
"""
import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeError(Exception):
    def __init__(self, status, headers, body):
        super().__init__("handshake refused: %s" % status)
        self.status, self.headers, self.body = status, headers, body


class WebSocket:
    def __init__(self, port, path="/api/v1/stream", timeout=10, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, port, key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        if status != 101:
            raise HandshakeError(status, headers, self.buf)
        expect = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expect:
            raise ConnectionError("bad Sec-WebSocket-Accept")
        self.closed = False
        self.close_code = None
        self.pending = []  # messages of a batch frame not yet returned

    def _frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, obj):
        self._frame(0x1, (obj if isinstance(obj, str) else json.dumps(obj)).encode())

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def ping(self, payload=b"zw"):
        """Sends a ping and waits for its pong (messages arriving meanwhile are kept)."""
        self._frame(0x9, payload)
        kept = []
        while True:
            op, data = self.recv_frame(return_pongs=True)
            if op == 0xA and data == payload:
                self.kept = kept
                return True
            kept.append((op, data))

    def recv_frame(self, return_pongs=False):
        """(opcode, payload) of the next whole message; answers pings on the way."""
        message, first_op = b"", None
        while True:
            b0, b1 = self._read(2)
            op, n = b0 & 0x0F, b1 & 0x7F
            if b1 & 0x80:
                raise ConnectionError("server frames must not be masked")
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            if op == 0x9:  # ping
                self._frame(0xA, payload)
                continue
            if op == 0xA:
                if return_pongs:
                    return op, payload
                continue
            if op == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                if not self.closed:
                    self._frame(0x8, payload[:2])
                    self.closed = True
                return op, payload
            if op != 0x0:
                first_op = op
            message += payload
            if b0 & 0x80:
                return first_op, message

    def recv(self, timeout=10):
        """The next message as JSON; None if the server closed. A frame holding a JSON array
        is a batch of messages (the stream sends one round's messages to a client that way):
        they are returned one at a time, in order."""
        if self.pending:
            return self.pending.pop(0)
        self.sock.settimeout(timeout)
        op, payload = self.recv_frame()
        if op == 0x8:
            return None
        msg = json.loads(payload)
        if isinstance(msg, list):
            if not msg:
                raise ValueError("empty batch frame")
            self.pending = msg[1:]
            return msg[0]
        return msg

    def recv_until(self, pred, timeout=10):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no matching message")
            msg = self.recv(timeout=left)
            if msg is None:
                raise ConnectionError("closed by the server")
            if pred(msg):
                return msg

    def close(self, code=1000):
        try:
            if not self.closed:
                self._frame(0x8, struct.pack("!H", code))
                self.closed = True
                self.sock.settimeout(5)
                while True:
                    op, _ = self.recv_frame()
                    if op == 0x8:
                        break
        except (OSError, ConnectionError):
            pass
        finally:
            self.sock.close()
