"""The Files API for volumes through the SDK."""

import io

import pytest
from databricks.sdk.errors import AlreadyExists, NotFound, ResourceAlreadyExists, ResourceConflict


def test_upload_download_metadata_list(w):
    w.files.upload("/Volumes/main/agents/docs/plans/v1/plan.md", io.BytesIO(b"# plan v1"), overwrite=False)
    assert w.files.download("/Volumes/main/agents/docs/plans/v1/plan.md").contents.read() == b"# plan v1"
    meta = w.files.get_metadata("/Volumes/main/agents/docs/plans/v1/plan.md")
    assert meta.content_length == 9
    w.files.create_directory("/Volumes/main/agents/docs/plans/v2")
    entries = list(w.files.list_directory_contents("/Volumes/main/agents/docs/plans"))
    assert sorted((e.name, e.is_directory) for e in entries) == [("v1", True), ("v2", True)]


def test_overwrite_false_on_an_existing_file_conflicts(w):
    with pytest.raises((AlreadyExists, ResourceAlreadyExists, ResourceConflict)):
        w.files.upload("/Volumes/main/agents/docs/readme.md", io.BytesIO(b"x"), overwrite=False)
    w.files.upload("/Volumes/main/agents/docs/readme.md", io.BytesIO(b"new"), overwrite=True)
    assert w.files.download("/Volumes/main/agents/docs/readme.md").contents.read() == b"new"


def test_missing_files_and_volumes_are_not_found(w):
    with pytest.raises(NotFound):
        w.files.get_metadata("/Volumes/main/agents/docs/none.md")
    with pytest.raises(NotFound):
        w.files.download("/Volumes/main/agents/docs/none.md").contents.read()
    with pytest.raises(NotFound):
        w.files.upload("/Volumes/main/agents/nope/x.md", io.BytesIO(b"x"), overwrite=True)


def test_paginated_listing(w):
    for i in range(25):
        w.files.upload(f"/Volumes/main/agents/docs/many/f{i:02}.txt", io.BytesIO(b"x"), overwrite=True)
    names = [e.name for e in w.files.list_directory_contents("/Volumes/main/agents/docs/many", page_size=10)]
    assert names == [f"f{i:02}.txt" for i in range(25)]
