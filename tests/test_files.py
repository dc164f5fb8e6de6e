"""ColonyFS metadata on the server (protocol §3.12, §4.14): files, revisions, labels and snapshots, with the
original's message and reply shapes; label normalisation; S3 secrets never stored; bad input; roles; limits.

The client side (uploads, downloads, sync against S3) is in test_fs.py.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import (
    BACKENDS, Colony, Identity, Server, create_colony, drop_database, expect_error, fresh_database, new_identity,
)

from colonies.crypto import random_id
from colonies.exceptions import BadRequest
from colonies.storage import open_store
from colonies.timefmt import parse_time

FILE_KEYS = ["fileid", "colonyname", "label", "name", "size", "sequencenr", "checksum", "checksumalg", "ref", "added"]
REF_KEYS = ["protocol", "s3object"]
S3_KEYS = ["server", "port", "tls", "accesskey", "secretkey", "region", "encryptionkey", "encryptionalg", "object",
           "bucket"]  # fmt: skip
FILEDATA_KEYS = ["name", "checksum", "size", "s3filename"]
LABEL_KEYS = ["name", "files"]
SNAPSHOT_KEYS = ["snapshotid", "colonyname", "label", "name", "fileids", "added"]

SECRET, ENCKEY = "s3-secret-never-stored-4f1c", "enc-key-never-stored-9a2b"


def checksum(data: str) -> str:
    import hashlib

    return hashlib.sha256(data.encode()).hexdigest()


def file_msg(colony: Colony, label: str = "/data", name: str = "a.txt", data: str = "hello",
             **overrides: Any) -> dict[str, Any]:  # fmt: skip
    """What pycolonies' upload_data sends (its S3 credentials blanked), with real secrets to see them dropped."""
    s3 = {"server": "s3.example.org", "port": 9000, "tls": True, "accesskey": "AKIA-test", "secretkey": SECRET,
          "region": "eu-north-1", "encryptionkey": ENCKEY, "encryptionalg": "AES256",
          "object": os.urandom(32).hex(), "bucket": "colonies"}  # fmt: skip
    s3.update(overrides.pop("s3", {}))
    file = {"fileid": "", "colonyname": colony.name, "label": label, "name": name, "size": len(data),
            "sequencenr": 1, "checksum": checksum(data), "checksumalg": "SHA256",
            "ref": {"protocol": "s3", "s3object": s3}, "added": None}  # fmt: skip
    file.update(overrides)
    return file


def add(colony: Colony, who: Identity | None = None, **kwargs: Any) -> dict[str, Any]:
    return dict(colony.call("addfilemsg", {"file": file_msg(colony, **kwargs)}, who or colony.executor))


def get_file(colony: Colony, who: Identity | None = None, **msg: Any) -> list[dict[str, Any]]:
    base = {"colonyname": colony.name, "fileid": None, "label": None, "name": None, "latest": True}
    return list(colony.call("getfilemsg", {**base, **msg}, who or colony.user))


def labels(colony: Colony, name: str = "", exact: bool = False) -> list[tuple[str, int]]:
    got = colony.call("getfilelabelsmsg", {"colonyname": colony.name, "name": name, "exact": exact}, colony.user)
    assert all(list(entry) == LABEL_KEYS for entry in got)
    return [(entry["name"], entry["files"]) for entry in got]


def snapshot(colony: Colony, label: str, name: str, who: Identity | None = None) -> dict[str, Any]:
    msg = {"colonyname": colony.name, "label": label, "name": name}
    return dict(colony.call("createsnapshotmsg", msg, who or colony.user))


# -- files and revisions ---------------------------------------------------------------------------------------


def test_add_file_replies_with_the_original_shape(colony: Colony) -> None:
    before = time.time_ns()
    sent = file_msg(colony, label="/data", name="a.txt")
    got = colony.call("addfilemsg", {"file": sent}, colony.user)
    assert list(got) == FILE_KEYS and list(got["ref"]) == REF_KEYS and list(got["ref"]["s3object"]) == S3_KEYS
    assert len(got["fileid"]) == 64 and int(got["fileid"], 16) >= 0
    assert isinstance(got["sequencenr"], int) and got["sequencenr"] > 0
    assert before - 10**9 <= parse_time(got["added"]) <= time.time_ns() + 10**9 and got["added"].endswith("Z")
    assert (got["colonyname"], got["label"], got["name"], got["size"]) == (colony.name, "/data", "a.txt", 5)
    assert got["checksum"] == sent["checksum"] and got["checksumalg"] == "SHA256"
    s3 = got["ref"]["s3object"]
    assert got["ref"]["protocol"] == "s3"
    assert {k: s3[k] for k in S3_KEYS if k not in ("secretkey", "encryptionkey")} == {
        k: sent["ref"]["s3object"][k] for k in S3_KEYS if k not in ("secretkey", "encryptionkey")}
    assert s3["secretkey"] == "" and s3["encryptionkey"] == ""
    # by id: a one-element list, equal to the reply
    assert get_file(colony, fileid=got["fileid"]) == [got]


def test_revisions_newest_first_and_latest(colony: Colony) -> None:
    revs = [add(colony, name="r.txt", data=f"v{i}") for i in range(3)]
    assert revs[0]["sequencenr"] < revs[1]["sequencenr"] < revs[2]["sequencenr"]
    assert len({r["fileid"] for r in revs}) == 3
    every = get_file(colony, label="/data", name="r.txt", latest=False)
    assert [f["fileid"] for f in every] == [r["fileid"] for r in reversed(revs)]
    assert [f["checksum"] for f in every] == [checksum(f"v{i}") for i in (2, 1, 0)]
    assert get_file(colony, label="/data", name="r.txt", latest=True) == [revs[2]]
    # pycolonies sends None for what it does not use, and latest defaults to False when missing
    assert get_file(colony, fileid=revs[0]["fileid"], label=None, name=None) == [revs[0]]
    only = colony.call("getfilemsg", {"colonyname": colony.name, "label": "/data", "name": "r.txt"}, colony.user)
    assert len(only) == 3
    # another label's name of the same file name is another file
    add(colony, label="/other", name="r.txt")
    assert len(get_file(colony, label="/data", name="r.txt", latest=False)) == 3


def test_get_file_not_found_and_malformed(colony: Colony) -> None:
    err = expect_error(404, get_file, colony, fileid=random_id())
    assert "does not exist" in err.message
    expect_error(404, get_file, colony, label="/data", name="missing.txt")
    err = expect_error(400, get_file, colony)  # neither fileid nor label and name
    assert "fileid" in err.message


def test_getfilesmsg_lists_the_newest_revision_of_each_name_under_exactly_that_label(colony: Colony) -> None:
    add(colony, label="/set", name="b.txt", data="b1")
    newest_b = add(colony, label="/set", name="b.txt", data="b2")
    a = add(colony, label="/set", name="a.txt", data="a1")
    add(colony, label="/set/sub", name="c.txt")  # a sub-label: not listed
    add(colony, label="/set2", name="d.txt")  # a sibling: not listed
    got = colony.call("getfilesmsg", {"colonyname": colony.name, "label": "/set"}, colony.executor)
    assert all(list(entry) == FILEDATA_KEYS for entry in got)
    assert got == [
        {"name": "a.txt", "checksum": checksum("a1"), "size": 2, "s3filename": a["ref"]["s3object"]["object"]},
        {"name": "b.txt", "checksum": checksum("b2"), "size": 2,
         "s3filename": newest_b["ref"]["s3object"]["object"]},
    ]  # fmt: skip
    assert colony.call("getfilesmsg", {"colonyname": colony.name, "label": "/empty"}, colony.user) == []


@pytest.mark.parametrize(("sent", "stored"), [
    ("data/sub", "/data/sub"), ("/data/sub/", "/data/sub"), ("//data//sub//", "/data/sub"), ("data", "/data"),
    ("", "/"), ("/", "/"), ("///", "/"), ("/a b/ü-x_1.2", "/a b/ü-x_1.2"),
])  # fmt: skip
def test_labels_are_normalised(colony: Colony, sent: str, stored: str) -> None:
    got = add(colony, label=sent, name="n.txt")
    assert got["label"] == stored
    # any spelling of the label finds it
    assert get_file(colony, label=sent, name="n.txt")[0]["fileid"] == got["fileid"]
    assert [f["name"] for f in colony.call("getfilesmsg", {"colonyname": colony.name, "label": stored + "/"},
                                           colony.user)] == ["n.txt"]  # fmt: skip


@pytest.mark.parametrize("label", ["/a/../b", "..", "/a/..", "/a/./b", ".", "/a\x01b", "/a\nb", "/a\\b",
                                   "/a\u0085b", "/" + "x" * 1024])  # fmt: skip
def test_bad_labels_are_refused(colony: Colony, label: str) -> None:
    err = expect_error(400, add, colony, label=label)
    assert "label" in err.message.lower()
    for msgtype, msg in (("getfilesmsg", {"label": label}), ("getfilemsg", {"label": label, "name": "a.txt"}),
                         ("removefilemsg", {"label": label, "name": "a.txt"}),
                         ("createsnapshotmsg", {"label": label, "name": f"s-{os.urandom(3).hex()}"}),
                         ("getfilelabelsmsg", {"name": label, "exact": True})):  # fmt: skip
        expect_error(400, colony.call, msgtype, {"colonyname": colony.name, **msg}, colony.user)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "/a", "a\\b", "a\nb", "a\tb", "x" * 256])
def test_bad_file_names_are_refused(colony: Colony, name: str) -> None:
    err = expect_error(400, add, colony, name=name)
    assert "file name" in err.message


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"checksum": "ab" * 31}, "checksum"),
    ({"checksum": "zz" * 32}, "checksum"),
    ({"checksum": ""}, "checksum"),
    ({"checksumalg": "sha256", "checksum": "12345"}, "checksum"),  # the algorithm's name in any case
    ({"size": -1}, "size"),
    ({"s3": {"port": 70000}}, "port"),
    ({"s3": {"port": -1}}, "port"),
    ({"s3": {"object": ""}}, "object"),
    ({"s3": {"bucket": "b\x07"}}, "bucket"),
    ({"checksumalg": "X" * 65, "checksum": "c"}, "checksumalg"),
])  # fmt: skip
def test_bad_file_metadata_is_refused(colony: Colony, overrides: dict[str, Any], needle: str) -> None:
    err = expect_error(400, add, colony, **overrides)
    assert needle in err.message.lower()
    expect_error(404, get_file, colony, label="/data", name="a.txt")  # nothing was stored


def test_other_checksum_algorithms_are_kept_as_sent(colony: Colony) -> None:
    got = add(colony, name="md5.bin", checksumalg="MD5", checksum="9E107D9D372BB6826BD81D3542A419D6")
    assert (got["checksumalg"], got["checksum"]) == ("MD5", "9E107D9D372BB6826BD81D3542A419D6")
    upper = add(colony, name="upper.bin", checksum="AB" * 32)
    assert upper["checksum"] == "ab" * 32  # a SHA256 checksum is stored lowercase, as clients compute it
    local = add(colony, name="local.bin", ref={"protocol": "local", "s3object": {"object": "obj-1"}})
    assert local["ref"]["protocol"] == "local" and local["ref"]["s3object"]["object"] == "obj-1"


@pytest.mark.parametrize(("make", "field"), [
    (lambda c: {"file": {**file_msg(c), "size": "5"}}, "size"),
    (lambda c: {"file": {**file_msg(c), "label": ["/a"]}}, "label"),
    (lambda c: {"file": {**file_msg(c), "ref": {"protocol": "s3", "s3object": {"port": "9000"}}}}, "port"),
    (lambda c: {"file": {**file_msg(c), "ref": {"protocol": "s3", "s3object": {"tls": "yes"}}}}, "tls"),
    (lambda c: {"file": {**file_msg(c), "size": 2**63}}, "size"),
    (lambda c: {"file": "a.txt"}, "file"),
])  # fmt: skip
def test_wrong_types_in_addfilemsg_name_the_field(colony: Colony, make: Any, field: str) -> None:
    err = expect_error(400, colony.call, "addfilemsg", make(colony), colony.user)
    assert field in err.message


@pytest.mark.parametrize(("msgtype", "msg", "field"), [
    ("getfilemsg", {"fileid": 5}, "fileid"),
    ("getfilemsg", {"label": "/a", "name": "b", "latest": "yes"}, "latest"),
    ("getfilelabelsmsg", {"name": "/a", "exact": 1}, "exact"),
    ("getfilesmsg", {"label": 1}, "label"),
    ("createsnapshotmsg", {"label": "/a", "name": {"n": 1}}, "name"),
    ("getsnapshotmsg", {"snapshotid": ["x"]}, "snapshotid"),
])  # fmt: skip
def test_wrong_types_in_other_messages_name_the_field(colony: Colony, msgtype: str, msg: dict[str, Any],
                                                      field: str) -> None:  # fmt: skip
    err = expect_error(400, colony.call, msgtype, {"colonyname": colony.name, **msg}, colony.user)
    assert field in err.message


# -- labels ----------------------------------------------------------------------------------------------------


def test_file_labels_all_exact_and_prefix(colony: Colony) -> None:
    for label, name in (("/data", "a"), ("/data", "a"), ("/data", "b"), ("/data/sub", "c"), ("/data/sub/deep", "d"),
                        ("/data2", "e"), ("/other", "f")):  # fmt: skip
        add(colony, label=label, name=name)
    every = [("/data", 2), ("/data/sub", 1), ("/data/sub/deep", 1), ("/data2", 1), ("/other", 1)]
    assert labels(colony) == every  # files: how many names (two revisions of "a" are one file)
    assert labels(colony, "/", exact=True) == every
    assert labels(colony, "/data", exact=True) == every[:3]  # the label and what is below it; not /data2
    assert labels(colony, "data/", exact=True) == every[:3]
    assert labels(colony, "/data", exact=False) == every[:4]  # a prefix, as the original's LIKE 'name%'
    assert labels(colony, "/data/", exact=False) == every[1:3]
    assert labels(colony, "/da", exact=False) == every[:4]
    assert labels(colony, "/data/sub", exact=True) == every[1:3]
    assert labels(colony, "/nothing", exact=True) == [] and labels(colony, "/nothing") == []


def test_no_labels_is_an_empty_list(colony: Colony) -> None:
    assert labels(colony) == []


# -- removing files --------------------------------------------------------------------------------------------


def test_remove_by_id_removes_one_revision_and_by_name_every_revision(colony: Colony) -> None:
    old, new = add(colony, name="x.txt", data="1"), add(colony, name="x.txt", data="2")
    keep = add(colony, name="keep.txt")
    # pycolonies' delete_file sends every field; the id wins
    msg = {"colonyname": colony.name, "fileid": new["fileid"], "label": "/data", "name": "x.txt"}
    assert colony.call("removefilemsg", msg, colony.user) == {}
    assert get_file(colony, label="/data", name="x.txt", latest=False) == [old]
    add(colony, name="x.txt", data="3")
    msg = {"colonyname": colony.name, "fileid": "", "label": "data/", "name": "x.txt"}
    assert colony.call("removefilemsg", msg, colony.executor) == {}
    expect_error(404, get_file, colony, label="/data", name="x.txt", latest=False)
    expect_error(404, colony.call, "removefilemsg", msg, colony.executor)
    expect_error(404, colony.call, "removefilemsg", {"colonyname": colony.name, "fileid": old["fileid"]}, colony.user)
    expect_error(400, colony.call, "removefilemsg", {"colonyname": colony.name}, colony.user)
    assert get_file(colony, fileid=keep["fileid"]) == [keep]


# -- snapshots -------------------------------------------------------------------------------------------------


def test_a_snapshot_freezes_the_newest_revision_under_the_label_and_its_sub_labels(colony: Colony) -> None:
    add(colony, label="/data", name="a", data="a1")
    a2 = add(colony, label="/data", name="a", data="a2")
    b = add(colony, label="/data", name="b")
    deep = add(colony, label="/data/sub/deep", name="c")
    add(colony, label="/data2", name="sibling")  # not under /data
    add(colony, label="/", name="root")  # not under /data
    snap = snapshot(colony, "/data/", "snap-1")
    assert list(snap) == SNAPSHOT_KEYS
    assert len(snap["snapshotid"]) == 64 and snap["label"] == "/data" and snap["name"] == "snap-1"
    assert snap["fileids"] == [a2["fileid"], b["fileid"], deep["fileid"]]  # by label, then name
    assert abs(parse_time(snap["added"]) - time.time_ns()) < 60 * 10**9
    # newer revisions after the snapshot do not change it
    add(colony, label="/data", name="a", data="a3")
    by_name = colony.call("getsnapshotmsg", {"colonyname": colony.name, "snapshotid": "", "name": "snap-1"},
                          colony.executor)  # fmt: skip
    by_id = colony.call("getsnapshotmsg", {"colonyname": colony.name, "snapshotid": snap["snapshotid"], "name": ""},
                        colony.user)  # fmt: skip
    assert by_name == by_id == snap
    # the root holds everything; an empty label is the root
    assert len(snapshot(colony, "", "everything")["fileids"]) == 5
    assert snapshot(colony, "/nothing/here", "empty")["fileids"] == []


def test_snapshot_names_are_unique_in_a_colony(server: Server, colony: Colony) -> None:
    add(colony)
    snapshot(colony, "/data", "twice")
    err = expect_error(400, snapshot, colony, "/data", "twice")
    assert "already exists" in err.message
    other = create_colony(server)
    assert snapshot(other, "/data", "twice")["fileids"] == []  # another colony's name space
    for bad in ("", "a\nb", "x" * 257):
        expect_error(400, snapshot, colony, "/data", bad)


def test_get_list_and_remove_snapshots(colony: Colony) -> None:
    first, second, third = (snapshot(colony, "/data", f"s{i}") for i in range(3))
    listed = colony.call("getsnapshotsmsg", {"colonyname": colony.name}, colony.user)
    assert [s["snapshotid"] for s in listed] == [third["snapshotid"], second["snapshotid"], first["snapshotid"]]
    assert colony.call("removesnapshotmsg", {"colonyname": colony.name, "snapshotid": first["snapshotid"],
                                             "name": ""}, colony.user) == {}  # fmt: skip
    assert colony.call("removesnapshotmsg", {"colonyname": colony.name, "snapshotid": "", "name": "s1"},
                       colony.executor) == {}  # fmt: skip
    for msgtype in ("getsnapshotmsg", "removesnapshotmsg"):
        for msg in ({"snapshotid": first["snapshotid"]}, {"name": "s1"}):
            expect_error(404, colony.call, msgtype, {"colonyname": colony.name, **msg}, colony.user)
        expect_error(400, colony.call, msgtype, {"colonyname": colony.name, "snapshotid": "", "name": ""},
                     colony.user)  # fmt: skip
    assert [s["name"] for s in colony.call("getsnapshotsmsg", {"colonyname": colony.name}, colony.user)] == ["s2"]
    kept = add(colony)
    assert colony.call("removeallsnapshotmsg", {"colonyname": colony.name}, colony.user) == {}
    assert colony.call("getsnapshotsmsg", {"colonyname": colony.name}, colony.user) == []
    assert get_file(colony, fileid=kept["fileid"]) == [kept]  # files stay
    assert colony.call("removeallsnapshotmsg", {"colonyname": colony.name}, colony.user) == {}  # nothing left: ok


def test_getsnapshotsmsg_returns_at_most_the_newest_100(colony: Colony) -> None:
    for i in range(101):
        snapshot(colony, "/data", f"many-{i:03d}")
    listed = colony.call("getsnapshotsmsg", {"colonyname": colony.name}, colony.user)
    assert len(listed) == 100 and listed[0]["name"] == "many-100" and listed[-1]["name"] == "many-001"
    assert colony.call("getsnapshotmsg", {"colonyname": colony.name, "name": "many-000"}, colony.user)


def test_a_removed_file_stays_named_in_the_snapshots_that_froze_it(colony: Colony) -> None:
    f = add(colony)
    snap = snapshot(colony, "/data", "frozen")
    colony.call("removefilemsg", {"colonyname": colony.name, "fileid": f["fileid"]}, colony.user)
    got = colony.call("getsnapshotmsg", {"colonyname": colony.name, "snapshotid": snap["snapshotid"]}, colony.user)
    assert got["fileids"] == [f["fileid"]]
    expect_error(404, get_file, colony, fileid=f["fileid"])


# -- secrets, colonies, roles ------------------------------------------------------------------------------------


def stored_text(server: Server) -> str:
    """Every row of the files and snapshots tables as the database holds them."""
    rows: list[Any] = []
    if server.db.startswith("sqlite:///"):
        with sqlite3.connect(server.db.removeprefix("sqlite:///")) as conn:
            conn.row_factory = sqlite3.Row
            for table in ("files", "snapshots"):
                rows += [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]
    else:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(server.db, row_factory=dict_row) as conn:
            for table in ("files", "snapshots"):
                rows += conn.execute(f"SELECT * FROM {table}").fetchall()
    return repr(rows)


def test_s3_secrets_are_never_stored_or_returned(server: Server, colony: Colony) -> None:
    got = add(colony, name="secret.txt")
    stored = stored_text(server)
    assert got["fileid"] in stored and "AKIA-test" in stored  # the rest of ref is kept
    assert SECRET not in stored and ENCKEY not in stored
    for f in (got, *get_file(colony, fileid=got["fileid"]), *get_file(colony, label="/data", name="secret.txt")):
        assert f["ref"]["s3object"]["secretkey"] == "" and f["ref"]["s3object"]["encryptionkey"] == ""
        assert SECRET not in repr(f) and ENCKEY not in repr(f)


def test_removing_the_colony_removes_its_files_and_snapshots(server: Server) -> None:
    colony = create_colony(server)
    f = add(colony)
    snapshot(colony, "/data", "gone")
    server.call("removecolonymsg", {"colonyname": colony.name}, server.prvkey)
    again = create_colony(server, colony.name)
    assert labels(again) == []
    assert again.call("getsnapshotsmsg", {"colonyname": again.name}, again.user) == []
    expect_error(404, get_file, again, fileid=f["fileid"])
    assert f["fileid"] not in stored_text(server)


def test_files_of_another_colony_are_out_of_reach(server: Server, colony: Colony) -> None:
    other = create_colony(server)
    theirs = add(other)
    snap = snapshot(other, "/data", "theirs")
    # a member of ``colony`` naming its own colony cannot reach the other colony's ids
    expect_error(404, get_file, colony, fileid=theirs["fileid"])
    expect_error(404, colony.call, "removefilemsg", {"colonyname": colony.name, "fileid": theirs["fileid"]},
                 colony.user)  # fmt: skip
    expect_error(404, colony.call, "getsnapshotmsg", {"colonyname": colony.name, "snapshotid": snap["snapshotid"]},
                 colony.user)  # fmt: skip
    assert get_file(other, fileid=theirs["fileid"]) == [theirs]


def message_for(msgtype: str, colony: Colony, file: dict[str, Any], snap: dict[str, Any]) -> dict[str, Any]:
    c = colony.name
    return {
        "addfilemsg": {"file": file_msg(colony)},
        "getfilemsg": {"colonyname": c, "fileid": file["fileid"], "label": None, "name": None, "latest": True},
        "getfilesmsg": {"colonyname": c, "label": "/data"},
        "getfilelabelsmsg": {"colonyname": c, "name": "", "exact": False},
        "removefilemsg": {"colonyname": c, "fileid": file["fileid"], "label": "/data", "name": "a.txt"},
        "createsnapshotmsg": {"colonyname": c, "label": "/data", "name": f"s-{os.urandom(4).hex()}"},
        "getsnapshotmsg": {"colonyname": c, "snapshotid": snap["snapshotid"], "name": ""},
        "getsnapshotsmsg": {"colonyname": c},
        "removesnapshotmsg": {"colonyname": c, "snapshotid": snap["snapshotid"], "name": ""},
        "removeallsnapshotmsg": {"colonyname": c},
    }[msgtype]


FILE_MESSAGES = ["addfilemsg", "getfilemsg", "getfilesmsg", "getfilelabelsmsg", "removefilemsg", "createsnapshotmsg",
                 "getsnapshotmsg", "getsnapshotsmsg", "removesnapshotmsg", "removeallsnapshotmsg"]  # fmt: skip


@pytest.mark.parametrize("msgtype", FILE_MESSAGES)
def test_only_approved_members_of_the_colony_are_served(server: Server, msgtype: str) -> None:
    colony, other = create_colony(server), create_colony(server)
    pending = colony.add_executor(approve=False)
    file, snap = add(colony), snapshot(colony, "/data", "roles")
    refused = {"the colony owner": colony.owner, "the server owner": server.prvkey, "a user of another colony":
               other.user, "an executor of another colony": other.executor, "another colony's owner": other.owner,
               "an unknown key": new_identity("stranger"), "a pending executor": pending}  # fmt: skip
    for who, key in refused.items():
        err = expect_error(403, colony.call, msgtype, message_for(msgtype, colony, file, snap), key)
        assert err.message, who
    # nothing changed, and the approved members are served
    assert get_file(colony, fileid=file["fileid"]) == [file]
    assert colony.call("getsnapshotmsg", {"colonyname": colony.name, "name": "roles"}, colony.user) == snap
    for who in (colony.executor, colony.user):
        file, snap = add(colony), snapshot(colony, "/data", f"roles-{os.urandom(3).hex()}")
        colony.call(msgtype, message_for(msgtype, colony, file, snap), who)


# -- limits (on the store, with small limits) --------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    import asyncio

    url = fresh_database(request.param, str(tmp_path))
    loop = asyncio.new_event_loop()
    st = loop.run_until_complete(open_store(url))
    st.run = loop.run_until_complete  # type: ignore[attr-defined]
    yield st
    loop.run_until_complete(st.close())
    loop.close()
    drop_database(url)


def row(label: str, name: str, colonyname: str = "c") -> dict[str, Any]:
    return {"fileid": random_id(), "colonyname": colonyname, "label": label, "name": name, "size": 1,
            "checksum": "0" * 64, "checksumalg": "SHA256", "added": time.time_ns(), "protocol": "s3",
            "s3server": "", "s3port": 0, "s3tls": 0, "s3accesskey": "", "s3region": "", "s3encryptionalg": "",
            "s3object": "o", "s3bucket": ""}  # fmt: skip


def test_a_label_holds_a_bounded_number_of_names_and_a_colony_of_labels(store: Any) -> None:
    run = store.run
    for name in ("a", "b"):
        run(store.add_file(row("/l", name), 2, 3))
    run(store.add_file(row("/l", "a"), 2, 3))  # a new revision of a name it has: fine
    with pytest.raises(BadRequest, match="file names"):
        run(store.add_file(row("/l", "c"), 2, 3))
    run(store.add_file(row("/m", "a"), 2, 3))
    run(store.add_file(row("/n", "a"), 2, 3))
    with pytest.raises(BadRequest, match="labels"):
        run(store.add_file(row("/o", "a"), 2, 3))
    run(store.add_file(row("/o", "a", colonyname="other"), 2, 3))  # per colony
    assert len(run(store.get_latest_files("c", "/l", 10))) == 2
    assert [r["name"] for r in run(store.get_file_labels("c", "/", "/", 10))] == ["/l", "/m", "/n"]


def test_a_snapshot_holds_a_bounded_number_of_files(store: Any) -> None:
    run = store.run
    for name in ("a", "b", "c"):
        run(store.add_file(row("/s", name), 10, 10))
    snap = {"snapshotid": random_id(), "colonyname": "c", "label": "/s", "name": "ok", "added": time.time_ns()}
    assert len(run(store.create_snapshot(snap, 3))["fileids"]) > 0
    with pytest.raises(BadRequest, match="more than 2 files"):
        run(store.create_snapshot({**snap, "snapshotid": random_id(), "name": "too-big"}, 2))
    assert run(store.get_snapshot_by_name("c", "too-big")) is None


def test_revisions_are_bounded_newest_first(store: Any) -> None:
    run = store.run
    added = [run(store.add_file(row("/r", "x"), 10, 10)) for _ in range(5)]
    got = run(store.get_file_revisions("c", "/r", "x", 3))
    assert [r["fileid"] for r in got] == [r["fileid"] for r in reversed(added)][:3]

