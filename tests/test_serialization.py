"""minigan.save / minigan.load: round trips, atomic writes, and clear errors for bad files."""
import io
import os
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
    with pytest.raises(ValueError, match=r"size mismatch for weight: the checkpoint has shape "
                                         r"\(2, 3\), the model has shape \(2, 4\)"):
        nn.Linear(4, 2).load_state_dict(mg.load(tmp_path / "lin.npz"))


def test_missing_file_is_a_plain_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nope.npz")
