"""Full-body portrait data (clothing-co-parsing): the reserved photos stay unread, a missing set
says how to fetch it, and the several-people composites are what the benchmark claims."""

from __future__ import annotations

import numpy as np
import pytest

from ml.paths import data_dir
from ml.training import fullbody
from ml.training.portrait import load_human_seg
from tests.support import lookalike


@pytest.fixture(scope="module")
def people() -> list[tuple[np.ndarray, np.ndarray]]:
    """Four real human_seg people (photo, 0/255 mask): the set every checkout has."""
    _, images, masks = load_human_seg(data_dir() / "human_seg")
    return list(zip(images[:4], masks[:4], strict=True))


@pytest.mark.parametrize("number", [0, 901, 950, 1004])
def test_reserved_and_unknown_numbers_are_refused(number, tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKALIKE_FULLBODY", str(tmp_path))
    with pytest.raises(ValueError, match="only 0001-0900"):
        fullbody.load_person(number)


def test_missing_set_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKALIKE_FULLBODY", str(tmp_path))
    assert fullbody.fullbody_dir() == tmp_path and not fullbody.available()
    with pytest.raises(FileNotFoundError, match="fetch github:bearpaw/clothing-co-parsing"):
        fullbody.load_person(801)


def test_group_stands_people_side_by_side_at_one_scale(people):
    background = fullbody.empty_background(*people[3])
    picture, truth = fullbody.group(people[:3], background, np.random.default_rng(0))
    assert picture.shape[:2] == truth.shape and truth.shape[0] == fullbody.GROUP_HEIGHT
    assert set(np.unique(truth)) == {0, 255}
    # three people wide, each 70-90% of the height (within 5% of one another)
    rows = np.nonzero(truth.any(1))[0]
    height = rows.max() - rows.min() + 1
    assert 0.6 * fullbody.GROUP_HEIGHT <= height <= 0.95 * fullbody.GROUP_HEIGHT
    cols = np.nonzero(truth.any(0))[0]
    widths = [np.ptp(np.nonzero(m > 127)[1]) * 0.7 * fullbody.GROUP_HEIGHT
              / np.ptp(np.nonzero(m > 127)[0]) for _, m in people[:3]]
    assert cols.max() - cols.min() + 1 >= 0.8 * sum(widths)
    # the background was emptied: the removed person's place is not left as it was
    _, mask = people[3]
    assert np.abs(background.astype(int) - people[3][0])[mask > 127].mean() > 10


def test_groups_are_a_fixed_draw(people):
    images, masks = [p[0] for p in people], [p[1] for p in people]
    first = fullbody.groups(images, masks, count=2, seed=5)
    again = fullbody.groups(images, masks, count=2, seed=5)
    for (a, ta), (b, tb) in zip(first, again, strict=True):
        assert np.array_equal(a, b) and np.array_equal(ta, tb)


@pytest.mark.integration  # runs the CLI as a process
def test_train_without_the_set_is_one_line_exit_2(tmp_path):
    result = lookalike("train", "portrait", "--full-body", "200", "--out", str(tmp_path / "w.pt"),
                       env={"LOOKALIKE_FULLBODY": str(tmp_path / "none")})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "clothing-co-parsing" in result.stderr and "fetch" in result.stderr
