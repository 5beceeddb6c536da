"""slicekit.atomic: a file or directory is replaced whole, or left as it was."""

import os

import pytest

from slicekit.atomic import atomic_path, pid_alive, sha256_file

DEAD_PID = 2**22 + 12345  # above Linux's pid_max: never a live process


def names(directory):
    return sorted(p.name for p in directory.iterdir())


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as scratch:
            scratch.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert names(tmp_path) == ["out.txt"]


def test_a_directory_is_replaced_whole_and_its_old_files_do_not_linger(tmp_path):
    target = tmp_path / "model"
    with atomic_path(target, directory=True) as scratch:
        (scratch / "a").write_text("1")
        (scratch / "old_only").write_text("x")
    with atomic_path(target, directory=True) as scratch:
        (scratch / "a").write_text("2")
    assert names(target) == ["a"] and (target / "a").read_text() == "2"
    assert names(tmp_path) == ["model"]


def test_writing_nothing_is_an_error_and_keeps_the_target(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(target):
            pass
    assert target.read_text() == "old"


def test_scratch_of_dead_writers_is_removed_and_of_live_ones_kept(tmp_path):
    dead = tmp_path / f".out.txt.tmp-{DEAD_PID}-x"
    live = tmp_path / f".out.txt.tmp-{os.getpid()}-y"
    for directory in (dead, live):
        directory.mkdir()
    with atomic_path(tmp_path / "out.txt") as scratch:
        scratch.write_text("new")
    assert names(tmp_path) == [live.name, "out.txt"]
    assert not pid_alive(DEAD_PID) and pid_alive(os.getpid())


def test_sha256_file(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert sha256_file(tmp_path / "f") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
