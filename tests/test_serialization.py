"""minigan.save / minigan.load: round trips, atomic writes, clear errors for bad files, and
crafted files that cannot make load allocate more memory than they hold."""
import io
import json
import os
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest

import minigan as mg
from minigan import nn
from minigan.serialization import CheckpointError


def test_round_trip_of_nested_state(tmp_path):
    obj = {
        "model": {"w": mg.randn(3, 4), "step": mg.tensor(7), "flag": mg.tensor([True, False])},
        "double": mg.tensor([1.5, -2.25], dtype=mg.float64),
        "scalar0d": mg.tensor(3.5),
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "state": {0: {"step": 3, "lr": 1e-3}, 1: {"betas": (0.5, 0.999)}},
        "list": [1, "two", 3.0, None, True, [mg.zeros(2)]],
        "specials": [float("inf"), float("-inf")],
        "name": "dcgan", "empty": {}, "none": None,
        "np_scalar": np.float32(0.5),
    }
    path = tmp_path / "ckpt.npz"
    mg.save(obj, path)
    back = mg.load(path)
    np.testing.assert_array_equal(back["model"]["w"].numpy(), obj["model"]["w"].numpy())
    assert back["model"]["w"].dtype == mg.float32 and isinstance(back["model"]["w"], mg.Tensor)
    assert back["model"]["step"].shape == () and back["model"]["step"].dtype == mg.int64
    assert back["model"]["flag"].dtype == mg.bool
    assert back["model"]["flag"].tolist() == [True, False]
    assert back["double"].dtype == mg.float64 and back["scalar0d"].shape == ()
    assert isinstance(back["array"], np.ndarray) and back["array"].dtype == np.int32
    assert back["state"] == {0: {"step": 3, "lr": 1e-3}, 1: {"betas": (0.5, 0.999)}}
    assert back["list"][:5] == [1, "two", 3.0, None, True]
    assert back["list"][5][0].shape == (2,)
    assert back["specials"] == [float("inf"), float("-inf")]
    assert back["name"] == "dcgan" and back["empty"] == {} and back["none"] is None
    assert back["np_scalar"] == 0.5
    assert not any(name.startswith(".tmp-") for name in os.listdir(tmp_path))


def test_a_module_survives_save_and_load(tmp_path):
    mg.manual_seed(0)
    a = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    a(mg.randn(2, 1, 6, 6))
    mg.save(a.state_dict(), str(tmp_path / "m.npz"))
    b = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    b.load_state_dict(mg.load(tmp_path / "m.npz"))
    a.eval(), b.eval()
    x = mg.randn(3, 1, 6, 6)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match=r"cannot save obj\['f'\] of type function"):
        mg.save({"f": lambda: 0}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys must be"):
        mg.save({(1, 2): 0}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="object array"):
        mg.save({"a": np.array([{}], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="an array of datetime64"):
        mg.save({"a": np.array(["2024-01-01"], dtype="datetime64[D]")}, tmp_path / "x.npz")
    deep = [1]
    for _ in range(150):
        deep = [deep]
    with pytest.raises(ValueError, match="nested more than 100 levels deep"):
        mg.save(deep, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_a_crash_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    mg.save({"w": mg.ones(3)}, path)
    good = path.read_bytes()

    def crash(f, **arrays):                  # write half a file, then die
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt("power cut")
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        mg.save({"w": mg.zeros(1000)}, path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["ckpt.npz"]               # no temp file left behind
    monkeypatch.undo()
    assert mg.load(path)["w"].tolist() == [1.0, 1.0, 1.0]


def test_writes_go_through_a_temp_file_fsync_and_replace(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append(("replace", os.path.dirname(a))),
                                                     real_replace(a, b))[1])
    mg.save({"w": mg.ones(2)}, tmp_path / "c.npz")
    assert calls[0] == "fsync" and calls[1] == ("replace", str(tmp_path))


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_truncated_files_raise_a_clear_error(tmp_path, keep):
    path = tmp_path / "ckpt.npz"
    mg.save({"w": mg.randn(64, 64), "b": mg.randn(64)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated"):
        mg.load(path)


def test_corrupted_array_bytes_are_detected(tmp_path):
    path = tmp_path / "ckpt.npz"
    mg.save({"w": mg.zeros(256)}, path)
    data = bytearray(path.read_bytes())
    start = data.find(b"\x00" * 64)          # inside the zeros of the array
    data[start + 10] = 1
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"obj\['w'\]"):
        mg.load(path)


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("content, message", [
    (b"not a checkpoint at all", "not a minigan checkpoint"),
    (b"", "not a minigan checkpoint"),
    (_npz_bytes(x=np.zeros(3)), "no __manifest__ entry"),
    (_npz_bytes(__manifest__=np.frombuffer(b'{"format": "other"}', np.uint8)), "does not name"),
    (_npz_bytes(__manifest__=np.frombuffer(b'{"format": "minigan-checkpoint", "version": 99}',
                                           np.uint8)), "format version 99"),
    (_npz_bytes(__manifest__=np.frombuffer(b'\xff\xfe', np.uint8)), "manifest cannot be read"),
    (_npz_bytes(__manifest__=np.frombuffer(
        b'{"format": "minigan-checkpoint", "version": 1, "object": {"tensor": "a0", '
        b'"dtype": "<f4", "shape": [2]}}', np.uint8)), "is missing"),
    (_npz_bytes(a0=np.zeros(3, np.float32), __manifest__=np.frombuffer(
        b'{"format": "minigan-checkpoint", "version": 1, "object": {"dict": [["w", {"tensor": '
        b'"a0", "dtype": "<f4", "shape": [2]}]]}}', np.uint8)), r"obj\['w'\] has shape \(3,\)"),
])
def test_foreign_files_raise_a_clear_error(tmp_path, content, message):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        mg.load(path)


def test_a_pickle_inside_the_archive_is_never_executed(tmp_path):
    # An object array is stored as a pickle in the .npy; with allow_pickle=False numpy refuses.
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__manifest__.npy", _npy_of_object(pickle.dumps(Boom())))
    with pytest.raises(CheckpointError):
        mg.load(path)
    assert not (tmp_path / "pwned").exists()


def _npy_of_object(payload):
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header = header + " " * (118 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + payload


def test_a_single_npy_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(CheckpointError, match="single .npy array"):
        mg.load(path)


def test_load_state_dict_names_the_mismatched_key(tmp_path):
    mg.save(nn.Linear(3, 2).state_dict(), tmp_path / "lin.npz")
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: the checkpoint has shape "
                                         r"\(2, 3\), the model has shape \(2, 4\)"):
        nn.Linear(4, 2).load_state_dict(mg.load(tmp_path / "lin.npz"))


def test_missing_file_is_a_plain_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nope.npz")


# --- loading cannot be made to allocate much more than the file holds ---
def _npy(array=None, dtype=None, shape=None, data=b""):
    """A .npy file: an array's, or a header claiming `dtype` and `shape`, then `data`."""
    buf = io.BytesIO()
    if array is not None:
        np.save(buf, array)
        return buf.getvalue()
    header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


def _manifest(obj):
    text = json.dumps({"format": "minigan-checkpoint", "version": 1, "object": obj})
    return _npy(np.frombuffer(text.encode(), np.uint8))


def _crafted(path, obj, members=(), compressed=False):
    """Write a checkpoint by hand: a manifest describing `obj`, and {name: .npy bytes}."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__manifest__.npy", _manifest(obj))
        for name, content in dict(members).items():
            z.writestr(name + ".npy", content,
                       compress_type=zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED)
    return path


def _tensor_node(name, dtype, shape):
    return {"tensor": name, "dtype": np.dtype(dtype).str, "shape": list(shape)}


def _load_with_peak_memory(path):
    """(the CheckpointError load raised, the peak bytes it allocated); numpy's arrays count."""
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as info:
            mg.load(path)
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


GIB = 2**30


@pytest.mark.parametrize("declared, compressed, message", [
    ((2**28,), True, f"declares {GIB} bytes of arrays, more than the file's"),
    ((4,), False, "obj['w'] has shape (268435456,) and dtype float32, the manifest says (4,)"),
])
def test_a_member_claiming_a_gigabyte_fails_before_allocating_it(tmp_path, declared,
                                                                  compressed, message):
    # The .npy header claims 2^28 float32 zeros (1 GiB); the file holds a few KB of them.
    path = _crafted(tmp_path / "x.npz", {"dict": [["w", _tensor_node("a0", "<f4", declared)]]},
                    {"a0": _npy(dtype="<f4", shape=(2**28,), data=bytes(4096))}, compressed)
    error, peak = _load_with_peak_memory(path)
    assert peak < 8 * 2**20, f"load allocated {peak / 2**20:.0f} MiB before refusing"
    assert str(path) in str(error) and message in str(error)


def test_a_header_claiming_2_to_the_40_floats_is_a_checkpoint_error(tmp_path):
    path = _crafted(tmp_path / "x.npz", {"dict": [["w", _tensor_node("a0", "<f4", (2**40,))]]},
                    {"a0": _npy(dtype="<f4", shape=(2**40,))})
    error, peak = _load_with_peak_memory(path)              # not a raw MemoryError
    assert peak < 8 * 2**20
    assert f"declares {4 * 2**40} bytes of arrays" in str(error)


def test_a_member_holding_other_data_than_its_header_says_is_refused(tmp_path):
    extra = _npy(np.zeros(3, np.float32)) + bytes(1024)
    path = _crafted(tmp_path / "x.npz", {"dict": [["w", _tensor_node("a0", "<f4", (3,))]]},
                    {"a0": extra})
    with pytest.raises(CheckpointError, match=r"obj\['w'\] holds 1036 bytes of data; its "
                                              r"shape \(3,\) and dtype <f4 need 12"):
        mg.load(path)


def test_one_member_named_twenty_times_is_refused(tmp_path):
    # The file: one 64 MiB member (64 KB compressed) named 20 times took 1.3 GB.
    big = _npy(np.zeros(2**24, np.float32))
    obj = {"list": [_tensor_node("a0", "<f4", (2**24,)) for _ in range(20)]}
    path = _crafted(tmp_path / "x.npz", obj, {"a0": big}, compressed=True)
    assert path.stat().st_size < 2**20
    error, peak = _load_with_peak_memory(path)
    assert peak < 8 * 2**20
    assert "array a0 is named twice in the manifest, by obj[0] and obj[1]" in str(error)


def test_a_compressed_member_is_refused(tmp_path):
    path = _crafted(tmp_path / "x.npz", {"dict": [["w", _tensor_node("a0", "<f4", (3,))]]},
                    {"a0": _npy(np.zeros(3, np.float32))}, compressed=True)
    with pytest.raises(CheckpointError, match=r"obj\['w'\] is compressed"):
        mg.load(path)


def test_loading_allocates_about_the_file_size(tmp_path):
    path = tmp_path / "c.npz"
    mg.save({"w": mg.randn(1024, 1024)}, path)              # 4 MiB
    tracemalloc.start()
    try:
        back = mg.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert back["w"].shape == (1024, 1024)
    assert peak < path.stat().st_size + 2**20      # the array itself plus a read buffer


def _nested(depth):
    return "".join(['{"list": ['] * depth) + "1" + "".join([']}'] * depth)


@pytest.mark.parametrize("depth, message", [(200, "nested more than 100 levels deep"),
                                            (100_000, "nested too deeply")])
def test_a_deeply_nested_manifest_is_a_checkpoint_error(tmp_path, depth, message):
    text = '{"format": "minigan-checkpoint", "version": 1, "object": ' + _nested(depth) + "}"
    path = tmp_path / "x.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__manifest__.npy", _npy(np.frombuffer(text.encode(), np.uint8)))
    with pytest.raises(CheckpointError, match=message) as info:
        mg.load(path)
    assert str(path) in str(info.value)


A0 = {"a0": _npy(np.zeros(2, np.float32))}


@pytest.mark.parametrize("obj, where", [
    ({"dict": 5}, "at obj: expected {'dict': list}"),
    ({"dict": [["a"]]}, "at obj: a dict entry must be a [key, value] pair"),
    ({"dict": [[["k"], 1]]}, "at obj: a dict entry must be a [key, value] pair"),
    ({"dict": [["w", {"tensor": 3, "dtype": "<f4", "shape": [2]}]]}, "at obj['w']"),
    ({"dict": [["w", {"tensor": "a0", "dtype": "<f4"}]]}, "at obj['w']"),
    ({"dict": [["w", {"tensor": "a0", "dtype": "<f4", "shape": "2"}]]}, "at obj['w']"),
    ({"dict": [["w", {"tensor": "a0", "dtype": "<f4", "shape": [-2]}]]}, "at obj['w']"),
    ({"dict": [["w", {"tensor": "a0", "dtype": "<f4", "shape": [2.0]}]]}, "at obj['w']"),
    ({"dict": [["w", {"tensor": "a0", "dtype": "nonsense", "shape": [2]}]]},
     "at obj['w']: dtype 'nonsense'"),
    ({"dict": [["w", {"tensor": "a0", "dtype": "|O", "shape": [2]}]]}, "at obj['w']: dtype '|O'"),
    ({"list": {"a": 1}}, "at obj: expected {'list': list}"),
    ({"list": [1, {"tuple": 7}]}, "at obj[1]: expected {'tuple': list}"),
    ({"what": 1}, "at obj: {'what': 1}"),
    ([1, 2], "at obj: [1, 2]"),
])
def test_a_malformed_manifest_is_a_checkpoint_error_naming_the_key(tmp_path, obj, where):
    path = _crafted(tmp_path / "x.npz", obj, A0)
    with pytest.raises(CheckpointError) as info:
        mg.load(path)
    assert f"{path}: malformed manifest {where}" in str(info.value)


def test_a_manifest_without_an_object_is_a_checkpoint_error(tmp_path):
    text = b'{"format": "minigan-checkpoint", "version": 1}'
    path = tmp_path / "x.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__manifest__.npy", _npy(np.frombuffer(text, np.uint8)))
    with pytest.raises(CheckpointError, match="has no 'object'"):
        mg.load(path)


def test_weights_only_is_accepted_and_always_true(tmp_path):
    mg.save({"w": mg.ones(2)}, tmp_path / "c.npz")
    assert mg.load(tmp_path / "c.npz", weights_only=True)["w"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_checkpoint_gets_the_permissions_the_umask_gives(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        mg.save({"w": mg.ones(2)}, tmp_path / "c.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "c.npz").stat().st_mode) == mode
