"""What the root test groups share (integration, fuzz, crash): a busybox
rootfs, a snapshot of the host facts a container could change
(hostcheck), what a killed create may leave and how to remove it
(leftovers).  Importable as `support` (pytest puts tests/ on sys.path;
the scripts under tests/ add it themselves)."""
