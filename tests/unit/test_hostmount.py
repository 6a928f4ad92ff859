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
    ours = MOUNTINFO + "57 41 0:40 / /tmp/b/rootfs rw - overlay overlay rw\n"
    record = {"path": "/tmp/b/rootfs", "below": 41}
    assert hostmount._top(record["path"], _info(tmp_path, ours)) == (57, 41)
    # nothing made yet (create killed before the bind): the top is the overlay
    assert hostmount._top(record["path"], _info(tmp_path, MOUNTINFO))[1] != 41
