"""Tensor.untyped_storage() / Tensor.storage() (UntypedStorage, TypedStorage), checked against
torch: shared memory by data_ptr, sizes, values, writes through the storage, and errors."""

import numpy as np
import pytest
import torch

import deepseek as ds

WARNING = "TypedStorage is deprecated"


@pytest.fixture(autouse=True)
def torch_warns_again():
    # torch warns about TypedStorage once a process; deepseek warns at every access
    torch.storage._reset_warn_typed_storage_removal()


def views(lib):
    """The same tensor and views of it, built in deepseek or torch."""
    t = lib.arange(12.).reshape(3, 4)
    return {"self": t, "slice": t[1:], "column": t[:, 2], "transpose": t.t(), "view": t.view(12),
            "expand": t[0].expand(2, 4), "strided": lib.as_strided(t, (2, 2), (1, 3), 2),
            "clone": t.clone(), "contiguous": t.t().contiguous()}


def test_data_ptr_says_which_tensors_share_memory():
    ours, theirs = views(ds), views(torch)
    base, tbase = ours["self"].untyped_storage(), theirs["self"].untyped_storage()
    assert base.data_ptr() == ours["self"].data_ptr()
    for name in ours:
        got = ours[name].untyped_storage().data_ptr() == base.data_ptr()
        want = theirs[name].untyped_storage().data_ptr() == tbase.data_ptr()
        assert got == want, f"untyped_storage sharing for {name}: got {got}, torch {want}"
        assert ours[name].storage_offset() == theirs[name].storage_offset(), name
        assert ours[name].untyped_storage().nbytes() == theirs[name].untyped_storage().nbytes()
        start = base.data_ptr() if got else ours[name].untyped_storage().data_ptr()
        assert ours[name].data_ptr() == start + ours[name].storage_offset() * 4, name


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int16", "bool", "complex64"])
def test_untyped_sizes_and_bytes(dtype):
    d = ds.tensor([1, 0, 3]).to(getattr(ds, dtype))
    t = torch.tensor([1, 0, 3]).to(getattr(torch, dtype))
    s, ts = d.untyped_storage(), t.untyped_storage()
    assert (s.nbytes(), s.size(), len(s), s.element_size()) == (
        ts.nbytes(), ts.size(), len(ts), ts.element_size()), dtype
    assert s.tolist() == ts.tolist() and list(s) == list(ts), dtype
    assert s.device.type == ts.device.type == "cpu"
    assert s[0] == ts[0] and s[-1] == ts[-1]


def test_untyped_writes_show_in_the_tensor():
    d, t = ds.arange(4.), torch.arange(4.)
    for lib_storage in (d.untyped_storage(), t.untyped_storage()):
        lib_storage[7] = 300  # stored modulo 256, as torch does
        lib_storage[3] = -1
    assert d.tolist() == t.tolist()
    d.untyped_storage()[4:8].fill_(0), t.untyped_storage()[4:8].fill_(0)
    assert d.tolist() == t.tolist() and d[1].item() == 0.0
    piece, tpiece = d.untyped_storage()[8:12], t.untyped_storage()[8:12]
    assert piece.data_ptr() - d.data_ptr() == tpiece.data_ptr() - t.data_ptr() == 8
    assert piece.nbytes() == tpiece.nbytes() == 4


def test_untyped_copy_clone_cpu_shared():
    d, t = ds.arange(3.), torch.arange(3.)
    s, ts = d.untyped_storage(), t.untyped_storage()
    s.copy_(ds.full((3,), 7.).untyped_storage())
    ts.copy_(torch.full((3,), 7.).untyped_storage())
    assert d.tolist() == t.tolist() == [7.0, 7.0, 7.0]
    c, tc = s.clone(), ts.clone()
    assert (c.data_ptr() == s.data_ptr()) == (tc.data_ptr() == ts.data_ptr()) is False
    assert c.tolist() == tc.tolist()
    assert s.cpu() is s and ts.cpu() is ts
    assert s.is_shared() == ts.is_shared() is False
    d.share_memory_(), t.share_memory_()
    assert d.untyped_storage().is_shared() == t.untyped_storage().is_shared() is True
    with pytest.raises(RuntimeError, match="size does not match, self was 12 bytes but src was 4"):
        s.copy_(ds.UntypedStorage(4))
    with pytest.raises(RuntimeError, match="size does not match, self was 12 bytes but src was 4"):
        ts.copy_(torch.UntypedStorage(4))


def test_untyped_index_errors():
    s, ts = ds.arange(2.).untyped_storage(), torch.arange(2.).untyped_storage()
    for storage in (s, ts):
        with pytest.raises(IndexError, match="index 8 out of range for storage of size 8"):
            storage[8]
        with pytest.raises(IndexError, match="out of range"):
            storage[-9]
        with pytest.raises(TypeError, match="can't index a .*UntypedStorage with float"):
            storage[1.0]


def test_resize_refuses_tensor_storages_like_torch_from_numpy():
    a = np.arange(4.)
    with pytest.raises(RuntimeError, match="Trying to resize storage that is not resizable"):
        torch.from_numpy(a).untyped_storage().resize_(64)
    with pytest.raises(RuntimeError, match="Trying to resize storage that is not resizable"):
        ds.from_numpy(a).untyped_storage().resize_(64)
    with pytest.raises(RuntimeError, match="not resizable"):
        ds.arange(4.).untyped_storage().resize_(64)
    assert ds.from_numpy(a).untyped_storage().resizable() is False
    assert torch.from_numpy(a).untyped_storage().resizable() is False


def test_constructed_untyped_storage():
    s, ts = ds.UntypedStorage(4), torch.UntypedStorage(4)
    assert s.size() == ts.size() == 4 and s.resizable() and ts.resizable()
    assert s.fill_(1).tolist() == ts.fill_(1).tolist() == [1, 1, 1, 1]
    s.resize_(6), ts.resize_(6)
    assert s.size() == ts.size() == 6 and s.tolist()[:4] == ts.tolist()[:4]
    s.resize_(2), ts.resize_(2)
    assert s.tolist() == ts.tolist() == [1, 1]
    assert ds.UntypedStorage([1, 2, 3]).tolist() == torch.UntypedStorage([1, 2, 3]).tolist()
    assert ds.UntypedStorage().size() == torch.UntypedStorage().size() == 0
    # once a tensor views it, deepseek cannot move the buffer beneath that tensor
    y = ds.empty(0).set_(s)
    assert y.data_ptr() == s.data_ptr()
    with pytest.raises(RuntimeError, match="not resizable"):
        s.resize_(8)


def test_typed_storage_warns_and_matches_torch():
    d, t = ds.arange(6.).reshape(2, 3), torch.arange(6.).reshape(2, 3)
    with pytest.warns(UserWarning, match=WARNING):
        s = d[1].storage()
    with pytest.warns(UserWarning, match=WARNING):
        ts = t[1].storage()
    assert (s.size(), len(s), s.element_size(), s.nbytes()) == (
        ts.size(), len(ts), ts.element_size(), ts.nbytes())
    assert s.dtype == ds.float32 and ts.dtype == torch.float32
    assert s.tolist() == ts.tolist() and s[-1] == ts[-1] and s[1] == ts[1]
    assert s.data_ptr() == s.untyped().data_ptr() == d.data_ptr()
    assert ts.data_ptr() == ts.untyped().data_ptr() == t.data_ptr()
    s[4] = 9.5
    ts[4] = 9.5
    assert d.tolist() == t.tolist()
    s.fill_(2), ts.fill_(2)
    assert d.tolist() == t.tolist()
    c, tc = s.clone(), ts.clone()
    assert c.tolist() == tc.tolist() and c.data_ptr() != s.data_ptr()
    assert s.cpu().data_ptr() == s.data_ptr() and ts.cpu().data_ptr() == ts.data_ptr()
    assert s.is_shared() == ts.is_shared() is False
    for storage in (s, ts):
        with pytest.raises(RuntimeError, match="slices are only supported in UntypedStorage"):
            storage[1:3]
        with pytest.raises(IndexError, match="index 6 out of range for storage of size 6"):
            storage[6]
        with pytest.raises(RuntimeError, match="cannot be converted to type float"):
            storage[0] = 1e40
        with pytest.raises(RuntimeError, match="self was 24 bytes but src was 4"):
            storage.copy_(storage.untyped()[0:4])


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float64"])
def test_typed_dtypes(dtype):
    d = ds.tensor([1, 0, 3]).to(getattr(ds, dtype))
    t = torch.tensor([1, 0, 3]).to(getattr(torch, dtype))
    with pytest.warns(UserWarning, match=WARNING):
        s, ts = d.storage(), t.storage()
    assert (s.size(), s.element_size(), s.nbytes()) == (ts.size(), ts.element_size(),
                                                         ts.nbytes()), dtype
    assert s.tolist() == ts.tolist(), dtype
    assert [type(v) for v in s.tolist()] == [type(v) for v in ts.tolist()], dtype


def test_typed_constructors():
    with pytest.warns(UserWarning, match=WARNING):
        s = ds.TypedStorage(3)
    with pytest.warns(UserWarning, match=WARNING):
        ts = torch.TypedStorage(3)
    assert s.dtype == ds.float32 and ts.dtype == torch.float32 and s.size() == ts.size() == 3
    with pytest.warns(UserWarning, match=WARNING):
        got = ds.TypedStorage([1, 2], dtype=ds.int64).tolist()
        want = torch.TypedStorage([1, 2], dtype=torch.int64).tolist()
    assert got == want == [1, 2]
    with pytest.warns(UserWarning, match=WARNING):
        wrapped = ds.TypedStorage(wrap_storage=ds.arange(2.).untyped_storage(), dtype=ds.float32)
    assert wrapped.tolist() == [0.0, 1.0]


def test_set_from_storage():
    d, t = ds.arange(6.), torch.arange(6.)
    s, ts = d.untyped_storage(), t.untyped_storage()
    for args in [(), (1, (2,)), (1, (2, 2)), (1, (2, 2), (1, 2)), (0, (3,), (2,))]:
        got, want = ds.empty(0).set_(s, *args), torch.empty(0).set_(ts, *args)
        assert got.shape == want.shape and got.stride() == want.stride(), args
        assert got.storage_offset() == want.storage_offset(), args
        assert got.tolist() == want.tolist(), args
        assert got.untyped_storage().data_ptr() == s.data_ptr()
    with pytest.warns(UserWarning, match=WARNING):
        typed, ttyped = d.storage(), t.storage()
    assert ds.empty(0).set_(typed).shape == torch.empty(0).set_(ttyped).shape
    with pytest.raises(RuntimeError, match="Expected a Storage of type .*int64|long"):
        ds.empty(0, dtype=ds.int64).set_(typed)
    with pytest.raises(RuntimeError, match="Expected a Storage of type long"):
        torch.empty(0, dtype=torch.int64).set_(ttyped)
    ints, tints = ds.empty(0, dtype=ds.int32).set_(s), torch.empty(0, dtype=torch.int32).set_(ts)
    assert ints.tolist() == tints.tolist()
    with pytest.raises(RuntimeError, match="out of bounds"):
        ds.empty(0).set_(s, 4, (3,))  # torch grows the storage; a NumPy buffer cannot grow
    y = ds.empty(0).set_(s, 2, (2,))
    y.fill_(-1.0)
    assert d.tolist() == [0.0, 1.0, -1.0, -1.0, 4.0, 5.0]
