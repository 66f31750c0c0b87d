"""Downloading, checksums and archive extraction for the datasets (torchvision.datasets.utils).

Every write is atomic: a download streams into a hidden ``.part`` file beside its target and is
renamed into place only once its length and MD5 are right; an archive is extracted into a
hidden folder beside its target and its top-level entries are renamed into place afterwards. An
interrupted or corrupt download therefore leaves nothing that a later run could take for the
real file (a stale ``.part`` file is removed by the next attempt).
"""
from __future__ import annotations

import bz2
import glob
import gzip
import hashlib
import http.client
import lzma
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile

__all__ = ["DownloadError", "calculate_md5", "check_md5", "check_integrity", "download_url",
           "extract_archive", "download_and_extract_archive"]

USER_AGENT = "ember/vision"
# seconds without progress before a download is abandoned
DEFAULT_TIMEOUT = 60.0
# seconds a whole download may take: a server that drips bytes never trips the per-read timeout
DEFAULT_DEADLINE = 3600.0
# bytes accepted when neither the caller nor the server says how long the file is
MAX_UNSIZED_BYTES = 4 << 30
_CHUNK = 1024 * 1024


class DownloadError(RuntimeError):
    """A download failed (network, HTTP status, truncated body or checksum mismatch)."""


def calculate_md5(fpath: str, chunk_size: int = _CHUNK) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: str, md5: str, **kwargs) -> bool:
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath: str, md5: str | None = None) -> bool:
    """The file exists and, if ``md5`` is given, has that MD5."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or check_md5(fpath, md5)


def _remove_stale_parts(root: str, filename: str) -> None:
    for stale in glob.glob(os.path.join(glob.escape(root), f".{glob.escape(filename)}.*.part")):
        try:
            os.remove(stale)
        except OSError:
            pass


def _announced_length(response):
    text = response.headers.get("Content-Length")
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _expected_length(response, url: str, size: int | None):
    """The length to insist on: ``size`` if the caller knows it (the server must agree), else
    the server's Content-Length, else None (then only :data:`MAX_UNSIZED_BYTES` bounds it)."""
    announced = _announced_length(response)
    if size is not None and announced is not None and announced != size:
        raise DownloadError(f"The server announces {announced} bytes for {url}, expected "
                            f"{size}: refusing the download")
    return size if size is not None else announced


def _set_read_timeout(response, seconds: float) -> None:
    # http.client gives no public handle on the socket; without it the per-read timeout given
    # to urlopen still bounds how far a read can overrun the deadline
    sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def _stream_to(response, fileobj, url: str, expected: int | None, deadline: float,
               timeout: float) -> str:
    """Copy the body to ``fileobj``; return its MD5. Raises :class:`DownloadError` if the body
    is longer or shorter than ``expected`` bytes, or still coming at ``deadline`` (a
    ``time.monotonic()`` value). ``read1`` returns what has arrived, so a server that drips
    one byte at a time cannot hold a read open past the deadline."""
    cap = MAX_UNSIZED_BYTES if expected is None else expected
    md5 = hashlib.md5(usedforsecurity=False)
    received = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _past_deadline(url, received, expected)
        _set_read_timeout(response, min(timeout, left))
        try:
            chunk = response.read1(min(_CHUNK, cap + 1 - received))  # one past the cap tells
        except TimeoutError:
            if left < timeout:  # the read was cut short by the deadline, not by a stall
                raise _past_deadline(url, received, expected) from None
            raise
        if not chunk:
            break
        received += len(chunk)
        if received > cap:
            raise DownloadError(f"Download of {url} sent more than the expected {cap} bytes: "
                                "refusing the rest")
        fileobj.write(chunk)
        md5.update(chunk)
    if expected is not None and received != expected:
        raise DownloadError(f"Download of {url} was cut short: got {received} of {expected} bytes")
    return md5.hexdigest()


def _past_deadline(url: str, received: int, expected: int | None) -> DownloadError:
    of = "" if expected is None else f" of {expected}"
    return DownloadError(f"Download of {url} did not finish within its deadline: got "
                         f"{received}{of} bytes")


def _has_size(fpath: str, size: int | None) -> bool:
    return size is None or os.path.getsize(fpath) == size


def download_url(url: str, root: str, filename: str | None = None, md5: str | None = None,
                 max_redirect_hops: int = 3, timeout: float | None = None, *,
                 size: int | None = None, deadline: float | None = None) -> str:
    """Download ``url`` to ``root/filename`` (default: the URL's last part) unless a file with
    the right MD5 (and ``size``) is already there; return the file's path.

    The body goes to a temporary ``.part`` file first; the file appears under its name only if
    it arrived whole - exactly ``size`` bytes when given, else the server's Content-Length -
    and (when ``md5`` is given) with that checksum. ``timeout`` bounds each read (default
    :data:`DEFAULT_TIMEOUT`), ``deadline`` the whole download in seconds (default
    :data:`DEFAULT_DEADLINE`); a body longer than expected is cut off (without any announced
    length, at :data:`MAX_UNSIZED_BYTES`). Failures raise :class:`DownloadError` naming the
    URL and the file it was to become, and leave nothing behind. Redirects are followed by
    urllib (``max_redirect_hops`` is accepted for torchvision compatibility).
    """
    root = os.path.expanduser(root)
    filename = filename or os.path.basename(url)
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5) and _has_size(fpath, size):
        print("Using downloaded and verified file: " + fpath)
        return fpath

    _remove_stale_parts(root, filename)
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + (DEFAULT_DEADLINE if deadline is None else deadline)
    print(f"Downloading {url} to {fpath}")
    fd, part = tempfile.mkstemp(dir=root, prefix=f".{filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            connect_timeout = max(min(timeout, deadline - time.monotonic()), 0.001)
            with urllib.request.urlopen(request, timeout=connect_timeout) as response:
                expected = _expected_length(response, url, size)
                actual_md5 = _stream_to(response, f, url, expected, deadline, timeout)
        if md5 is not None and actual_md5 != md5:
            raise DownloadError(f"The MD5 of the file downloaded from {url} is {actual_md5}, "
                                f"expected {md5}: the download is corrupt or the file changed. "
                                f"Nothing was written to {fpath}.")
        os.replace(part, fpath)
    except DownloadError:
        _silent_remove(part)
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        _silent_remove(part)
        if isinstance(error, urllib.error.HTTPError):
            reason = str(error)  # "HTTP Error 404: Not Found"
        else:
            reason = f"{type(error).__name__}: {getattr(error, 'reason', None) or error}"
        raise DownloadError(f"Could not download {url} ({reason}). "
                            f"Expected file: {fpath}" + (f" with MD5 {md5}" if md5 else "") +
                            ". If this machine is offline, fetch the file elsewhere and put it "
                            "there.") from error
    except BaseException:
        _silent_remove(part)
        raise
    return fpath


def _silent_remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


# -- extraction ----------------------------------------------------------------------------------

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz")
_COMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def _move_into_place(src: str, dst: str) -> None:
    """Rename ``src`` to ``dst``, replacing a file or folder already there: the old one is
    first renamed aside, so ``dst`` is never half-written."""
    if os.path.lexists(dst):
        aside = tempfile.mkdtemp(dir=os.path.dirname(dst), prefix=".replaced-")
        os.replace(dst, os.path.join(aside, "old"))
        os.replace(src, dst)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(src, dst)


def _extract_tar(from_path: str, to_path: str) -> None:
    staging = tempfile.mkdtemp(dir=to_path, prefix=".extract-")
    try:
        with tarfile.open(from_path, "r:*") as tar:
            # the "data" filter refuses absolute paths, '..', links out of the tree and devices
            tar.extractall(staging, filter="data")
        for entry in os.listdir(staging):
            _move_into_place(os.path.join(staging, entry), os.path.join(to_path, entry))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract_zip(from_path: str, to_path: str) -> None:
    staging = tempfile.mkdtemp(dir=to_path, prefix=".extract-")
    try:
        with zipfile.ZipFile(from_path) as archive:
            for member in archive.namelist():
                target = os.path.realpath(os.path.join(staging, member))
                if not target.startswith(os.path.realpath(staging) + os.sep):
                    raise RuntimeError(f"{from_path}: refusing member {member!r} outside the archive root")
            archive.extractall(staging)
        for entry in os.listdir(staging):
            _move_into_place(os.path.join(staging, entry), os.path.join(to_path, entry))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _decompress(from_path: str, to_path: str, opener) -> str:
    """A single compressed file (``x.gz``) -> ``to_path/x``, via a temporary file."""
    target = os.path.join(to_path, os.path.splitext(os.path.basename(from_path))[0])
    fd, part = tempfile.mkstemp(dir=to_path, prefix=f".{os.path.basename(target)}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, opener(from_path, "rb") as src:
            shutil.copyfileobj(src, out, _CHUNK)
        os.replace(part, target)
    except BaseException:
        _silent_remove(part)
        raise
    return target


def extract_archive(from_path: str, to_path: str | None = None, remove_finished: bool = False) -> str:
    """Extract a tar (optionally gz/bz2/xz compressed), zip, or single ``.gz``/``.bz2``/``.xz``
    file into ``to_path`` (default: the archive's folder); return ``to_path``."""
    to_path = os.path.dirname(from_path) if to_path is None else to_path
    os.makedirs(to_path, exist_ok=True)
    name = from_path.lower()
    try:
        if name.endswith(_TAR_SUFFIXES):
            _extract_tar(from_path, to_path)
        elif name.endswith(".zip"):
            _extract_zip(from_path, to_path)
        elif os.path.splitext(name)[1] in _COMPRESSORS:
            _decompress(from_path, to_path, _COMPRESSORS[os.path.splitext(name)[1]])
        else:
            raise RuntimeError(f"Extraction of {from_path} not supported: expected one of "
                               f"{', '.join(_TAR_SUFFIXES + ('.zip',) + tuple(_COMPRESSORS))}")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, lzma.LZMAError) as error:
        raise RuntimeError(f"Could not extract {from_path}: {error}") from error
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(url: str, download_root: str, extract_root: str | None = None,
                                 filename: str | None = None, md5: str | None = None,
                                 remove_finished: bool = False, *, size: int | None = None) -> None:
    download_root = os.path.expanduser(download_root)
    extract_root = download_root if extract_root is None else extract_root
    filename = filename or os.path.basename(url)
    archive = download_url(url, download_root, filename, md5, size=size)
    print(f"Extracting {archive} to {extract_root}")
    extract_archive(archive, extract_root, remove_finished)
