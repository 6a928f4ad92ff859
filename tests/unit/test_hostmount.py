"""The private rootfs bind of a container without a mount namespace: the
record create saves before the bind, read against mountinfo."""
from pyrunc import hostmount

MOUNTINFO = """\
22 1 8:1 / / rw - ext4 /dev/vda rw
30 22 0:5 / /tmp rw - tmpfs tmpfs rw
41 30 0:40 / /tmp/b/rootfs rw - overlay overlay rw
"""


def _info(tmp_path, text):
    path = tmp_path / "mountinfo"
    path.write_text(text)
    return str(path)


def test_a_bind_stacks_on_the_mount_on_top_at_the_path_or_the_one_holding_it(tmp_path):
    info = _info(tmp_path, MOUNTINFO)
    assert hostmount.mount_below("/tmp/b/rootfs", info) == 41     # an engine's overlay
    assert hostmount.mount_below("/tmp/c/rootfs", info) == 30     # in /tmp's tmpfs
    assert hostmount.mount_below("/srv/rootfs", info) == 22       # in /
    assert hostmount.mount_below("/tmpx", info) == 22


def test_only_the_bind_stacked_on_the_recorded_mount_is_ours(tmp_path):
    record = {"path": "/tmp/b/rootfs", "below": 41}
    ours = MOUNTINFO + "57 41 0:40 / /tmp/b/rootfs rw - overlay overlay rw\n"
    assert hostmount.is_bound(record, _info(tmp_path, ours))
    # the container stacked more on it (readonlyPaths "/"): still ours
    stacked = ours + "58 57 0:40 / /tmp/b/rootfs ro - overlay overlay rw\n"
    assert hostmount.is_bound(record, _info(tmp_path, stacked))
    # nothing made yet (create killed before the bind): the overlay is not
    assert not hostmount.is_bound(record, _info(tmp_path, MOUNTINFO))
    # pyrunc 0.1's record: [path, the bind's mount id]
    assert hostmount.is_bound(["/tmp/b/rootfs", 57], _info(tmp_path, ours))
    assert not hostmount.is_bound(["/tmp/b/rootfs", 57], _info(tmp_path, MOUNTINFO))
