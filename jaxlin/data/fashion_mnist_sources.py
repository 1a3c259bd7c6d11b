"""Where Fashion-MNIST comes from (D2L 3.5): TFDS's ``fashion_mnist`` builder, offline too.

In order: the prepared TFDS copy in ``data_dir`` (``data_dir=``, else ``$TFDS_DATA_DIR``,
else ``~/tensorflow_datasets``); TFDS preparing it from a local folder of the four
original ``.gz`` files (``fashion_mnist_dir=`` / ``--fashion-mnist-dir``, else
``$JAXLIN_FASHION_MNIST_DIR``, else Debian/Ubuntu's ``dataset-fashion-mnist`` package in
``/usr/share/datasets/fashion-mnist``, whose re-gzipped files get their original gzip
header back so TFDS's checksums pass); TFDS downloading it, when the internet is
reachable. Otherwise :class:`FashionMNISTNotFound` lists these ways to get the data.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import socket
import struct
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

NAME = "fashion_mnist"
ENV_DIR = "JAXLIN_FASHION_MNIST_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
# The original gzip headers carry these modification times (train files, t10k files).
GZIP_MTIMES = {"train": 1504176606, "t10k": 1504176627}

class FashionMNISTNotFound(FileNotFoundError):
    """No prepared copy, no local source and no internet."""


class ChecksumError(ValueError):
    """A local Fashion-MNIST file does not match TFDS's registered checksum."""


class DamagedData(ValueError):
    """TFDS's prepared copy cannot be read."""


def default_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """TFDS's data directory: the argument, else ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``."""
    return Path(data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets").expanduser()


@functools.lru_cache(maxsize=1)
def _url_infos() -> dict[str, Any]:
    """TFDS's registered files for ``fashion_mnist``: file name -> (url, size, sha256)."""
    import tensorflow_datasets as tfds
    infos = tfds.builder_cls(NAME).url_infos
    return {info.filename: (url, info.size, info.checksum) for url, info in infos.items()}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def restore_gzip_header(data: bytes, filename: str) -> bytes:
    """Give a re-gzipped file (Debian's, no file name in its header) its original header back.

    Original header: ``1f 8b 08 08`` + 4-byte little-endian mtime + ``00 03`` + the
    uncompressed file's name + ``00``, followed by the same deflate stream that starts
    at byte 10 of the re-gzipped file.
    """
    if len(data) < 18 or data[:3] != b"\x1f\x8b\x08":
        raise ChecksumError(f"{filename} is not a gzip file")
    mtime = GZIP_MTIMES["train" if filename.startswith("train") else "t10k"]
    name = filename.removesuffix(".gz").encode()
    return (b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + name
            + b"\x00" + data[10:])


def find_source(fashion_mnist_dir: str | os.PathLike | None = None) -> Path | None:
    """The local folder to prepare from: the argument, ``$JAXLIN_FASHION_MNIST_DIR``, or Debian's.

    A folder passed as an argument must exist; an environment variable naming a
    missing folder is reported and skipped; Debian's is used only if present.
    """
    if fashion_mnist_dir is not None:
        folder = Path(fashion_mnist_dir).expanduser()
        if not folder.is_dir():
            raise FashionMNISTNotFound(f"fashion_mnist_dir={folder} is not a folder")
        return folder
    env = os.environ.get(ENV_DIR)
    if env:
        folder = Path(env).expanduser()
        if folder.is_dir():
            return folder
        warnings.warn(f"{ENV_DIR}={env} is not a folder; looking for other sources", stacklevel=2)
    return DEBIAN_DIR if DEBIAN_DIR.is_dir() else None


@contextlib.contextmanager
def manual_dir(source: Path, work_dir: Path) -> Iterator[Path]:
    """A folder of the four files exactly as TFDS registers them, checked before TFDS sees them.

    Files already byte-identical are linked; re-gzipped ones (Debian) get their
    header restored. A missing file or a checksum mismatch raises an error naming
    the file, and the temporary folder is always removed.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="jaxlin-fashion-mnist-", dir=work_dir))
    try:
        for filename, (_, size, checksum) in _url_infos().items():
            path = source / filename
            if not path.is_file():
                raise FashionMNISTNotFound(f"{path} is missing: a Fashion-MNIST folder needs "
                                           f"{', '.join(sorted(_url_infos()))}")
            data = path.read_bytes()
            if _sha256(data) != checksum:
                restored = restore_gzip_header(data, filename) if data[3:4] == b"\x00" else data
                if _sha256(restored) != checksum:
                    raise ChecksumError(
                        f"{path}: checksum mismatch (sha256 {_sha256(data)}, expected {checksum}, "
                        f"{len(data)} bytes, expected {size}): the file is corrupt or truncated; "
                        f"replace it with the original")
                data = restored
            (folder / filename).write_bytes(data)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _internet_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP connect to the download host (TFDS itself retries for minutes offline)."""
    url = next(iter(_url_infos().values()))[0]
    host = urlparse(url).hostname
    try:
        with socket.create_connection((host, 80), timeout=timeout):
            return True
    except OSError:
        return False


def not_found_message(data_dir: Path) -> str:
    return (f"Fashion-MNIST is not prepared in {data_dir} and cannot be downloaded (no internet).\n"
            "Get it in one of these ways:\n"
            "  1. connect to the internet once: TFDS downloads and prepares it;\n"
            "  2. install Debian/Ubuntu's package: apt-get install dataset-fashion-mnist "
            f"(found automatically in {DEBIAN_DIR});\n"
            "  3. put the four original files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\n"
            "     t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a folder and pass it as\n"
            f"     --fashion-mnist-dir DIR or set {ENV_DIR}=DIR;\n"
            "  4. point --data-dir / TFDS_DATA_DIR at a folder where TFDS already prepared fashion_mnist.")


@contextlib.contextmanager
def quiet_libraries(log: Path) -> Iterator[None]:
    """Send what TensorFlow, TFDS and absl write to the terminal (file descriptors 1 and 2: C++
    logs, progress bars with escape codes) into ``log`` instead, for the duration."""
    log.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(log, "ab") as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        for fd in saved:
            os.close(fd)


@contextlib.contextmanager
def preparation_lock(data_dir: Path) -> Iterator[None]:
    """One process at a time prepares ``data_dir``; the lock dies with its process (``flock``).

    Inside it, what a killed preparation left is cleared: jaxlin's temporary source folders,
    TFDS's ``incomplete`` folders and half-written array caches.
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        lock = open(data_dir / ".jaxlin-prepare.lock", "w")
    except OSError as err:                 # a read-only or full data folder: say which, once
        raise FashionMNISTNotFound(f"cannot prepare Fashion-MNIST in the data folder {data_dir} "
                                   f"({err.strerror or err}): pass --data-dir (or $TFDS_DATA_DIR) "
                                   f"a folder you can write") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        leftovers = [*(data_dir / "downloads" / "manual").glob("jaxlin-fashion-mnist-*"),
                     *(data_dir / NAME).glob("*incomplete*"), *(data_dir / "jaxlin-cache").glob(".*.tmp")]
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        yield


def prepare(data_dir: Path, fashion_mnist_dir: str | os.PathLike | None = None) -> None:
    """Make sure TFDS has ``fashion_mnist`` prepared in ``data_dir`` (offline when possible).

    Prints one line of its own; the libraries' output goes to ``data_dir/jaxlin-prepare.log``.
    """
    log = data_dir / "jaxlin-prepare.log"
    source = find_source(fashion_mnist_dir)
    with preparation_lock(data_dir):
        with quiet_libraries(log):
            import tensorflow_datasets as tfds
            builder = tfds.builder(NAME, data_dir=str(data_dir))
            if builder.is_prepared():
                return
            if source is None and not _internet_reachable():
                raise FashionMNISTNotFound(not_found_message(data_dir))
        print(f"preparing Fashion-MNIST once, from {source or 'the internet'} into {data_dir / NAME} "
              f"(about a minute; 38 MB there and a 53 MB array cache; TFDS's messages go to {log})",
              file=sys.stderr, flush=True)
        with quiet_libraries(log):
            if source is None:
                builder.download_and_prepare()
                return
            with manual_dir(source, data_dir / "downloads" / "manual") as folder:
                builder.download_and_prepare(
                    download_config=tfds.download.DownloadConfig(manual_dir=str(folder)))
        for name in _url_infos():     # TFDS's decompressed copies (53 MB): not needed once prepared
            (data_dir / "downloads" / "extracted" / f"GZIP.{name}").unlink(missing_ok=True)
