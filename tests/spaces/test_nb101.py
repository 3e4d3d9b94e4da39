"""NAS-Bench-101 in the IR: official wiring and params, formats, moves, encodings."""

from __future__ import annotations

import numpy as np
import pytest

from nasir import errors
from nasir.ir import infer_shapes
from nasir.spaces.nb101 import ENCODING_LENGTHS, space
from nasir.spaces.nb101_spec import Nb101Spec

# (cell string, trainable params of the whole CIFAR-10 network) from NASLib's NB101 zero-cost data
KNOWN_PARAMS = [
    ("01.00|", 882_570),
    ("011.001.000|conv3x3-bn-relu", 11_051_402),
    ("0101.0010.0001.0000|conv1x1-bn-relu,conv1x1-bn-relu", 3_831_434),
    ("01101.00001.00011.00001.00000|conv1x1-bn-relu,maxpool3x3,conv3x3-bn-relu", 2_608_431),
    ("0101.0010.0001.0000|conv3x3-bn-relu,conv1x1-bn-relu", 12_088_970),
]


@pytest.mark.parametrize(("text", "params"), KNOWN_PARAMS)
def test_network_params_match_naslib(text: str, params: int) -> None:
    network = space.network(space.parse(text))
    assert network.count_params() == params
    assert network.output_shape == (10,)
    assert space.format(space.parse(text)) == text


def test_cell_wiring_follows_the_official_module() -> None:
    """Input feeds v1 and the output; v1 feeds v2 and the output; v2 feeds the output."""
    cell = space.parse("0101.0011.0001.0000|conv3x3-bn-relu,maxpool3x3")
    assert cell.inputs("v1") == ("v1_proj",)          # the input is projected to v1's channels
    assert cell.inputs("v2") == ("v2_from1",)         # earlier vertices are truncated, not projected
    assert cell.op("v2_from1") == "channel_slice"
    assert set(cell.inputs("out_sum")) == {"cat", "out_proj"}
    shapes = infer_shapes(space.network(cell).blocks[1].arch, (128, 32, 32))
    assert shapes["v1"] == (64, 32, 32) and shapes["cat"] == (128, 32, 32)


def test_sampling_mutation_and_neighbours_stay_valid_and_seeded() -> None:
    a = space.sample(7)
    assert space.format(a) == space.format(space.sample(7))
    child = space.mutate(a, 3)
    assert space.format(child) == space.format(space.mutate(a, 3))
    neighbours = space.neighbors(a)
    assert neighbours and len({space.spec_hash(n) for n in neighbours}) == len(neighbours)
    assert space.spec_hash(a) not in {space.spec_hash(n) for n in neighbours}


def test_isomorphic_cells_share_the_official_hash_but_not_the_concat_order() -> None:
    """The official hash ignores vertex numbering; the built module concatenates in vertex order,
    so the IR (where concat ports matter) tells the two wirings apart."""
    ops = ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]
    m1 = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    swapped = ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "output"]
    a, b = space.from_spec(Nb101Spec.create(m1, ops)), space.from_spec(Nb101Spec.create(m1, swapped))
    assert space.spec_hash(a) == space.spec_hash(b)
    assert a.canonical_hash() != b.canonical_hash()
    assert a.canonical_hash() == space.from_spec(Nb101Spec.create(m1, ops)).canonical_hash()


def test_encodings_have_documented_lengths() -> None:
    cell = space.parse("0101.0010.0001.0000|conv3x3-bn-relu,conv1x1-bn-relu")
    for kind, length in ENCODING_LENGTHS.items():
        assert space.encode(cell, kind).shape == (length,)
    path = space.encode(cell, "path")
    # paths: in->out directly (length 0) and in->v1->v2->out (conv3x3, conv1x1)
    assert path.sum() == 2 and path[0] == 1
    assert path[1 + 3 + 0 * 3 + 1] == 1


def test_enumerate_refuses_and_bad_strings_fail() -> None:
    with pytest.raises(errors.SpaceTooLargeError):
        space.enumerate()
    with pytest.raises(errors.ArchStringError):
        space.parse("01.00|conv5x5")


def test_unknown_encoding_is_a_space_config_error() -> None:
    cell = space.parse("0101.0010.0001.0000|conv3x3-bn-relu,conv1x1-bn-relu")
    with pytest.raises(errors.SpaceConfigError, match=r"unknown NB101 encoding 'graph2vec' \(known: \('adjacency'") as info:
        space.encode(cell, "graph2vec")
    assert isinstance(info.value, ValueError)
