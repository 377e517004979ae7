"""The column codec: column types, encoding, decoding, per-cell losses and masks."""

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from skae._columns import TableCodec


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "size": [1.0, 2.0, 3.0, 6.0],
            "color": pd.Categorical(["red", "blue", "red", "green"]),
            "ok": [True, False, True, True],
            "count": np.array([3, 1, 4, 1], dtype="int64"),
            "word": np.array(["b", "a", "b", "b"], dtype=object),
        },
        index=[10, 20, 30, 40],
    )


def test_fit_learns_types_statistics_and_the_grouped_layout(table):
    codec = TableCodec().fit(table)
    assert codec.feature_types_.tolist() == ["numeric", "categorical", "binary", "numeric", "categorical"]
    np.testing.assert_allclose(codec.mean_, [3.0, 2.25])
    np.testing.assert_allclose(codec.scale_, table[["size", "count"]].std(ddof=0))
    assert [levels.tolist() for levels in codec.categories_] == [["blue", "green", "red"], ["a", "b"]]
    # numeric (size, count), binary (ok), categorical (color: 3 levels, word: 2)
    assert codec.order_ == [0, 3, 2, 1, 4]
    assert codec.starts_.tolist() == [0, 1, 2, 3, 6, 8]
    assert codec.n_encoded_ == codec.n_inputs == 8
    # A column's weight is one over the entropy of its distribution (1 for numeric).
    p = np.array([0.25, 0.75])
    assert codec.column_weights_[2] == pytest.approx(1 / -(p * np.log(p)).sum())
    assert codec.column_weights_[[0, 3]].tolist() == [1.0, 1.0]
    assert TableCodec(categorical_features=["count"]).fit(table).feature_types_[3] == "categorical"


def test_decode_of_encode_restores_the_table(table):
    codec = TableCodec().fit(table)
    encoded = codec.encode(table)
    assert encoded.dtype == np.float32 and encoded.shape == (4, 8)
    np.testing.assert_allclose(encoded[:, 0], (table["size"] - 3.0) / table["size"].std(ddof=0), rtol=1e-6)
    # One-hot logits: the encoded cell is the most likely category.
    decoded = codec.decode(encoded, table.index)
    pd.testing.assert_frame_equal(decoded, table)


def test_a_plain_array_decodes_to_float_columns_x0_x1():
    table = pd.DataFrame(np.arange(12.0).reshape(4, 3))
    codec = TableCodec().fit(table, from_frame=False)
    decoded = codec.decode(codec.encode(table))
    assert list(decoded.columns) == ["x0", "x1", "x2"] and codec.dtypes_ is None
    np.testing.assert_allclose(decoded.to_numpy(), table.to_numpy(), atol=1e-5)


def test_missing_cells_need_missing_learn_and_get_indicators(table):
    holes = table.astype({"count": "Int64"})
    holes.loc[20, "size"] = np.nan
    holes.loc[30, "color"] = np.nan
    with pytest.raises(ValueError, match=r"\['size', 'color'\].*missing='learn' to MyAE"):
        TableCodec(name="MyAE").fit(holes).encode(holes)
    codec = TableCodec(missing="learn").fit(holes)
    encoded = codec.encode(holes)
    assert codec.n_inputs == 8 + 5 and encoded.shape == (4, 13)
    indicators = encoded[:, 8:]  # grouped order: size, count, ok, color, word
    assert indicators[:, 0].tolist() == [0, 1, 0, 0] and indicators[:, 3].tolist() == [0, 0, 1, 0]
    assert encoded[1, 0] == 0.0 and not encoded[2, 3:6].any()  # a missing cell is zeros
    observed = codec.observed(torch.as_tensor(encoded))
    np.testing.assert_array_equal(observed.numpy(), 1 - indicators)
    # Masking a cell: its encoded columns and its indicator move together.
    cells = codec.cell_of_input()
    assert cells.tolist() == [0, 1, 2, 3, 3, 3, 4, 4, 0, 1, 2, 3, 4]
    assert codec.masked_input().tolist() == [0.0] * 8 + [1.0] * 5


def test_unknown_category_is_all_zeros_with_a_warning(table):
    codec = TableCodec().fit(table)
    new = table.assign(word=["a", "z", "b", "a"])
    with pytest.warns(UserWarning, match=r"unknown categories in column\(s\) \['word'\]"):
        encoded = codec.encode(new)
    assert not encoded[1, 6:8].any() and encoded[0, 6] == 1.0


def test_cell_losses_are_each_type_s_own(table):
    codec = TableCodec().fit(table)
    X = torch.as_tensor(codec.encode(table))
    raw = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    losses = codec.cell_losses(raw, X)
    assert losses.shape == (4, 5)
    torch.testing.assert_close(losses[:, 0], (raw[:, 0] - X[:, 0]) ** 2)
    torch.testing.assert_close(
        losses[:, 2], F.binary_cross_entropy_with_logits(raw[:, 2], X[:, 2], reduction="none")
    )
    color = X[:, 3:6].argmax(1)
    torch.testing.assert_close(losses[:, 3], F.cross_entropy(raw[:, 3:6], color, reduction="none"))
    # Confident, right outputs cost about nothing.
    perfect = torch.where(X > 0.5, 20.0, -20.0)
    perfect[:, :2] = X[:, :2]
    assert float(codec.cell_losses(perfect, X).max()) < 1e-6


def test_fill_takes_only_the_holes_and_keeps_dtypes(table):
    codec = TableCodec(missing="learn").fit(table)
    damaged = table.astype({"count": "Int64", "ok": "boolean"})
    damaged.loc[20, ["size", "count", "ok"]] = [np.nan, pd.NA, pd.NA]
    damaged.loc[40, "word"] = None
    decoded = codec.decode(codec.encode(table), table.index)
    filled = codec.fill(damaged, decoded, damaged.isna(), as_frame=True)
    assert filled.dtypes.equals(damaged.dtypes) and not filled.isna().any().any()
    assert filled.loc[20, "count"] == 1 and filled.loc[40, "word"] == "b"
    assert filled.loc[20, "size"] == pytest.approx(2.0)
    assert damaged.loc[20, ["size", "count", "ok"]].isna().all()  # not modified
    array = codec.fill(damaged, decoded, damaged.isna(), as_frame=False)
    assert isinstance(array, np.ndarray) and array[3, 4] == "b"
