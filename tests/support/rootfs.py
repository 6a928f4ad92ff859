"""The busybox-static rootfs every root test group runs its containers in
(no image is pulled)."""
import os
import shutil
import subprocess

DIRS = ("bin", "proc", "sys", "dev", "etc", "tmp", "root", "home/user")


def make_busybox_rootfs(dest, uid=None):
    """Build it at dest (which may exist, empty): /bin/busybox and a symlink
    per applet, root and user (1000) in /etc/passwd and /etc/group, /tmp
    1777, "/" 0755 (it is "/" in the container, for every user).  uid: chown
    the whole tree to uid:uid (the root of a user namespace mapped there)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise RuntimeError("busybox not found: apt-get install busybox-static")
    for d in DIRS:
        os.makedirs(os.path.join(dest, d))
    shutil.copy(busybox, os.path.join(dest, "bin", "busybox"))
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", os.path.join(dest, "bin", applet))
    with open(os.path.join(dest, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
    with open(os.path.join(dest, "etc", "group"), "w") as f:
        f.write("root:x:0:\nuser:x:1000:\n")
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    os.chmod(dest, 0o755)
    if uid is not None:
        subprocess.run(["chown", "-R", "%d:%d" % (uid, uid), dest], check=True)
    return dest
