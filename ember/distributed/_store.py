"""Key-value stores for the rendezvous of several MPI worlds (what torch's TCPStore and
FileStore are): ``set(key, value)``, ``get(key)`` waiting until the key exists, ``add(key, n)``.

Keys and values are bytes and are never unpickled; sizes read from the wire are bounded
before anything is allocated. The TCP server runs in a thread of the process of global rank 0
and listens on the address it is given (MASTER_ADDR: loopback unless told otherwise).
"""
from __future__ import annotations

import fcntl
import os
import socket
import struct
import threading
import time

MAX_KEY = 1024
MAX_VALUE = 1 << 20
_SET, _GET, _ADD = b"S", b"G", b"A"
_LINE, _BYE, _ABORT = b"L", b"B", b"X"  # liveness lines (see TCPStoreServer.watch)


def _recv_exact(sock, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the rendezvous store closed the connection")
        data += chunk
    return bytes(data)


def _recv_field(sock, limit: int) -> bytes:
    (n,) = struct.unpack("!I", _recv_exact(sock, 4))
    if n > limit:
        raise ValueError(f"rendezvous store: a field of {n} bytes (at most {limit})")
    return _recv_exact(sock, n)


def _field(data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + data


class TCPStoreServer:
    """The store itself: a dict behind a condition variable, one thread per client."""

    def __init__(self, host: str, port: int):
        self._data: dict = {}
        self._cond = threading.Condition()
        self._lines: dict = {}        # rank -> its open liveness line
        self._on_failure = None
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._listener.bind((host, port))
        except OSError as e:
            self._listener.close()
            raise RuntimeError(f"init_process_group: cannot serve the rendezvous on "
                               f"{host}:{port} (MASTER_ADDR:MASTER_PORT): {e.strerror or e}; "
                               f"choose a free port with --master-port / MASTER_PORT") from None
        self._listener.listen(64)
        self._closed = False
        threading.Thread(target=self._serve, daemon=True, name="ember-store").start()

    def _serve(self):
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn):
        with conn:
            try:
                while True:
                    op = conn.recv(1)
                    if not op:
                        return
                    key = _recv_field(conn, MAX_KEY)
                    if op == _SET:
                        value = _recv_field(conn, MAX_VALUE)
                        with self._cond:
                            self._data[key] = value
                            self._cond.notify_all()
                        conn.sendall(b"\0")
                    elif op == _GET:
                        with self._cond:
                            self._cond.wait_for(lambda: key in self._data or self._closed)
                            value = self._data.get(key, b"")
                        conn.sendall(_field(value))
                    elif op == _LINE:
                        (rank,) = struct.unpack("!q", _recv_exact(conn, 8))
                        self._hold_line(conn, rank)
                        return
                    elif op == _ADD:
                        (delta,) = struct.unpack("!q", _recv_exact(conn, 8))
                        with self._cond:
                            total = int(self._data.get(key, b"0")) + delta
                            self._data[key] = str(total).encode()
                            self._cond.notify_all()
                        conn.sendall(struct.pack("!q", total))
                    else:
                        return  # not our protocol: drop the client
            except (OSError, ValueError, struct.error):
                return

    # Liveness lines: after the rendezvous of several worlds every rank keeps a connection
    # here. MPI would notice a peer of another world dying only at the group's timeout; a
    # line that closes without a goodbye is a rank that failed or was killed, and every rank
    # hears of it at once (as gloo's peers see a TCP connection drop).

    def watch(self, on_failure) -> None:
        """Call ``on_failure(rank)`` in this process when a line closes without a goodbye."""
        self._on_failure = on_failure

    def _hold_line(self, conn, rank: int) -> None:
        with self._cond:
            self._lines[rank] = conn
        try:
            said = conn.recv(1)
        except OSError:
            said = b""
        with self._cond:
            self._lines.pop(rank, None)
            others = list(self._lines.values()) if said != _BYE and not self._closed else []
        if said != _BYE and not self._closed:
            for line in others:
                try:
                    line.sendall(_ABORT + struct.pack("!q", rank))
                except OSError:
                    pass
            if self._on_failure is not None:
                self._on_failure(rank)

    def close(self):
        """Stop serving; the lines still open are told goodbye (a clean end, not a failure)."""
        self._closed = True
        with self._cond:
            self._cond.notify_all()
            lines, self._lines = list(self._lines.values()), {}
        for line in lines:
            try:
                line.sendall(_BYE)
            except OSError:
                pass
        self._listener.close()


class LivenessLine:
    """A rank's line to the store's server (see TCPStoreServer.watch): ``on_failure(text)``
    runs (in a thread) when the server reports a rank gone or itself disappears; ``close()``
    ends the line cleanly (a goodbye)."""

    def __init__(self, host: str, port: int, rank: int, deadline: float, on_failure):
        self._store = TCPStore(host, port, deadline)
        self._sock = self._store._sock
        self._sock.settimeout(None)
        self._sock.sendall(_LINE + _field(b"") + struct.pack("!q", rank))
        self._done = False
        self._on_failure = on_failure
        threading.Thread(target=self._listen, daemon=True, name="ember-liveness").start()

    def _listen(self):
        try:
            said = _recv_exact(self._sock, 1)
            rank = struct.unpack("!q", _recv_exact(self._sock, 8))[0] if said == _ABORT else None
        except (OSError, ConnectionError):
            said, rank = b"", None
        if self._done or said == _BYE:
            return
        self._on_failure(f"rank {rank} disconnected without finalizing (it failed or was killed)"
                         if rank is not None else
                         "rank 0, which serves the rendezvous, disconnected without finalizing "
                         "(it failed or was killed)")

    def close(self):
        if not self._done:
            self._done = True
            try:
                self._sock.sendall(_BYE)
                self._sock.close()
            except OSError:
                pass


class TCPStore:
    """A client of :class:`TCPStoreServer`; waits until ``deadline`` (time.monotonic()) for the
    server to come up and for every answer."""

    def __init__(self, host: str, port: int, deadline: float):
        self._deadline = deadline
        # one request and its answer at a time: two threads sharing the connection would each
        # read the other's answer (a set's acknowledgement taken for an add's count)
        self._lock = threading.Lock()
        while True:
            try:
                self._sock = socket.create_connection((host, port), timeout=1.0)
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"init_process_group: timed out connecting to the "
                                       f"rendezvous at {host}:{port} (MASTER_ADDR:MASTER_PORT): "
                                       f"{e.strerror or e}; is rank 0 running?") from None
                time.sleep(0.05)

    def _ask(self, message: bytes, answer):
        try:
            with self._lock:
                self._sock.settimeout(max(0.01, self._deadline - time.monotonic()))
                self._sock.sendall(message)
                return answer()
        except socket.timeout:
            raise RuntimeError("init_process_group: timed out waiting for the other nodes at "
                               "the rendezvous") from None

    def set(self, key: str, value: bytes) -> None:
        self._ask(_SET + _field(key.encode()) + _field(value), lambda: _recv_exact(self._sock, 1))

    def get(self, key: str) -> bytes:
        return self._ask(_GET + _field(key.encode()),
                         lambda: _recv_field(self._sock, MAX_VALUE))

    def add(self, key: str, delta: int) -> int:
        return self._ask(_ADD + _field(key.encode()) + struct.pack("!q", delta),
                         lambda: struct.unpack("!q", _recv_exact(self._sock, 8))[0])

    def close(self):
        self._sock.close()


class FileStore:
    """The same three operations on a file shared by the nodes (``file://`` init): records
    ``key\\tvalue-hex`` appended under an exclusive lock; the last record of a key wins."""

    def __init__(self, path: str, deadline: float):
        self._path = path
        self._deadline = deadline
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)

    def _records(self, f) -> dict:
        f.seek(0)
        out = {}
        for line in f.read().splitlines():
            key, _, value = line.partition("\t")
            out[key] = bytes.fromhex(value)
        return out

    def _locked(self, fn):
        with open(self._path, "r+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                return fn(f)
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def set(self, key: str, value: bytes) -> None:
        def append(f):
            f.seek(0, os.SEEK_END)
            f.write(f"{key}\t{value.hex()}\n")
        self._locked(append)

    def get(self, key: str) -> bytes:
        while True:
            value = self._locked(lambda f: self._records(f).get(key))
            if value is not None:
                return value
            if time.monotonic() > self._deadline:
                raise RuntimeError(f"init_process_group: timed out waiting for the other nodes "
                                   f"at the rendezvous file {self._path}")
            time.sleep(0.02)

    def add(self, key: str, delta: int) -> int:
        def bump(f):
            total = int(self._records(f).get(key, b"0")) + delta
            f.seek(0, os.SEEK_END)
            f.write(f"{key}\t{str(total).encode().hex()}\n")
            return total
        return self._locked(bump)

    def close(self):
        pass
