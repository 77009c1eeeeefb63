"""mnist / fashion_mnist: download from mirrors into the cache, digest checks, no partial files, fallbacks.

Files are served by an HTTP server on 127.0.0.1 started here; nothing touches the internet.
"""

import gzip
import hashlib
import http.server
import socket
import threading

import numpy as np
import pytest

from generativa.data import DataError, load_data
from generativa.data import download as D
from generativa.data.idx import idx_file_bytes

RNG = np.random.default_rng(0)


def _fake_files(n_train=12, n_test=4):
    """The four gzipped IDX files of a tiny MNIST look-alike: name -> bytes, and the arrays."""
    x = RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    y = RNG.integers(0, 10, n_train, dtype=np.uint8)
    xt = RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    yt = RNG.integers(0, 10, n_test, dtype=np.uint8)
    arrays = dict(zip(D.FILES, (x, y, xt, yt)))
    files = {name: gzip.compress(idx_file_bytes(a), mtime=0) for name, a in arrays.items()}
    return files, arrays


FILES, ARRAYS = _fake_files()
DIGESTS = {name: hashlib.md5(data).hexdigest() for name, data in FILES.items()}


class _Handler(http.server.BaseHTTPRequestHandler):
    """/good/NAME serves the file, /bad/NAME other bytes, /drop/NAME half of it then hangs up, else 404."""

    def do_GET(self):  # noqa: N802 - http.server's name
        kind, _, name = self.path.strip("/").partition("/")
        self.server.hits.append(self.path)
        data = FILES.get(name)
        if data is None or kind not in ("good", "bad", "drop"):
            self.send_error(404)
            return
        if kind == "bad":
            data = data[:-1] + bytes([data[-1] ^ 1])
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if kind == "drop":
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _fetch(server, folder, *kinds, **kwargs):
    mirrors = tuple(f"{server.url}/{k}/" for k in kinds)
    return D.fetch("mnist", folder=folder, mirrors=mirrors, digests=DIGESTS, timeout=5, **kwargs)


def test_download_verifies_and_shows_progress(server, tmp_path, capsys):
    folder = _fetch(server, tmp_path / "mnist", "good", progress=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(D.FILES)
    for name, data in FILES.items():
        assert (folder / name).read_bytes() == data
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "100%" in err  # the tqdm bar
    assert len(server.hits) == 4


def test_cached_files_are_not_downloaded_again(server, tmp_path):
    _fetch(server, tmp_path, "good")
    _fetch(server, tmp_path, "good")
    assert len(server.hits) == 4


def test_a_wrong_digest_is_refused_and_leaves_no_file(server, tmp_path):
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz.*MD5 is [0-9a-f]{32}, not the published"):
        _fetch(server, tmp_path, "bad")
    assert list(tmp_path.iterdir()) == []


def test_a_dropped_connection_leaves_no_partial_file(server, tmp_path):
    with pytest.raises(DataError, match=r"ended after [\d,]+ of [\d,]+ bytes"):
        _fetch(server, tmp_path, "drop")
    assert list(tmp_path.iterdir()) == []


def test_the_next_mirror_is_tried(server, tmp_path):
    with pytest.warns(UserWarning, match="trying the next mirror"):
        folder = _fetch(server, tmp_path, "missing", "bad", "drop", "good")
    assert sorted(p.name for p in folder.iterdir()) == sorted(D.FILES)
    first = [h for h in server.hits if h.endswith("train-images-idx3-ubyte.gz")]
    assert [h.split("/")[1] for h in first] == ["missing", "bad", "drop", "good"]


def test_every_mirror_failing_says_what_to_do(server, tmp_path):
    with pytest.raises(DataError, match=r"(?s)/missing/.*404.*/bad/.*MD5.*GENERATIVA_DATA.*idx:PATH"), \
            pytest.warns(UserWarning, match="trying the next mirror"):
        _fetch(server, tmp_path, "missing", "bad")
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_cached_file_is_downloaded_again(server, tmp_path):
    _fetch(server, tmp_path, "good")
    (tmp_path / D.FILES[0]).write_bytes(b"damaged")
    with pytest.warns(UserWarning, match="downloading it again"):
        _fetch(server, tmp_path, "good")
    assert (tmp_path / D.FILES[0]).read_bytes() == FILES[D.FILES[0]] and len(server.hits) == 5


@pytest.mark.parametrize("spec", ["mnist", "fashion_mnist"])
def test_specs_load_through_the_cache(server, monkeypatch, tmp_path, spec):
    monkeypatch.setenv("GENERATIVA_DATA", str(tmp_path))
    monkeypatch.setitem(D.MIRRORS, spec, (f"{server.url}/good/",))
    monkeypatch.setitem(D.DIGESTS, spec, DIGESTS)
    s = load_data(spec)
    assert (tmp_path / spec / D.FILES[0]).is_file()
    assert s.shape == (1, 28, 28) and len(s.train) == 12 and len(s.test) == 4
    assert np.array_equal(s.train.x[:, 0].numpy(), ARRAYS[D.FILES[0]])
    assert np.array_equal(s.test.labels.numpy(), ARRAYS[D.FILES[3]])
    assert s.train.class_names == D.CLASS_NAMES[spec] and s.num_classes == 10
    small = load_data(spec, size=32, channels=3, n=5, classes="0,1,2,3,4")
    assert small.shape == (3, 32, 32) and len(small.train) <= 5
    assert len(server.hits) == 4  # the second load used the cache
    assert load_data(small.spec, **small.options).content_hash() == small.content_hash()


def test_without_a_network_the_error_names_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GENERATIVA_DATA", str(tmp_path))
    with pytest.raises(DataError, match=rf"(?s)could not download .*{tmp_path.name}"):
        load_data("mnist")


def test_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("GENERATIVA_DATA", str(tmp_path / "mine"))
    assert D.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("GENERATIVA_DATA")
    monkeypatch.setattr(D.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert D.cache_dir() == tmp_path / "xdg" / "generativa" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert D.cache_dir() == tmp_path / ".cache" / "generativa" / "data"


def test_published_digests_are_pinned():
    assert D.DIGESTS["mnist"]["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert D.DIGESTS["fashion_mnist"]["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"
    assert all(set(d) == set(D.FILES) for d in D.DIGESTS.values())
    assert D.CLASS_NAMES["fashion_mnist"][0] == "T-shirt/top" and D.CLASS_NAMES["fashion_mnist"][9] == "Ankle boot"
