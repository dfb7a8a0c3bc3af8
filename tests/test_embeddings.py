"""The embedding cache: a second run encodes nothing; empty texts are handled."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.features.embeddings import Embedder, default_cache_dir


@pytest.fixture(scope="module")
def texts():
    # short synthetic sentences written for this test
    return [
        "The cat sat on the mat.",
        "A completely different sentence about rivers.",
        "",
        "The cat sat on the mat.",
        "   ",
        "Numbers: one, two, three.",
    ]


def test_second_run_encodes_nothing(tmp_path, texts):
    first = Embedder(cache_dir=tmp_path)
    a = first.embed(texts)
    assert first.n_encoded == 3  # three distinct non-empty texts, the duplicate encoded once
    assert a.shape == (6, first.dim)
    first.close()

    second = Embedder(cache_dir=tmp_path)
    b = second.embed(texts)
    assert second.n_encoded == 0
    assert second._model is None  # the model was not even loaded
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


def test_vectors_are_normalised_and_empty_is_zero(tmp_path, texts):
    emb = Embedder(cache_dir=tmp_path)
    x = emb.embed(texts)
    norms = np.linalg.norm(x, axis=1)
    assert np.allclose(norms[[0, 1, 3, 5]], 1.0, atol=1e-5)
    assert np.all(x[2] == 0) and np.all(x[4] == 0)
    assert np.allclose(x[0], x[3])
    # similar sentences are closer than unrelated ones
    y = emb.embed(["The cat is sitting on the mat.", "Stock markets fell sharply today."])
    assert float(x[0] @ y[0]) > float(x[0] @ y[1])


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CACHE_DIR", str(tmp_path / "root"))
    assert default_cache_dir() == tmp_path / "root" / "embeddings"
    emb = Embedder()
    assert emb.cache_dir == tmp_path / "root" / "embeddings"
    emb.embed(["hello world"])
    assert any((tmp_path / "root" / "embeddings").iterdir())


def test_no_disk_cache_and_memory_reuse(texts):
    emb = Embedder(cache_dir=False)
    emb.embed(texts[:2])
    emb.embed(texts[:2])
    assert emb.n_encoded == 2 and emb.cache_dir is None


def test_key_depends_on_model_and_length(tmp_path):
    a = Embedder(cache_dir=tmp_path)
    b = Embedder(cache_dir=tmp_path, max_seq_length=64)
    assert a.key("x") != b.key("x")
    # reduced precision is cached apart from float32, the default
    assert a.precision == "float32" and Embedder(cache_dir=tmp_path, precision="bfloat16").key("x") != a.key("x")
    with pytest.raises(ValueError):
        Embedder(cache_dir=tmp_path, precision="float16")
