#!/usr/bin/python3
"""Drives Cedar Backup 3 (Debian package cedar-backup3) through its own Python API for `npm run bench`.

  cedar.py local-peer  NAME COLLECT_DIR TARGET_DIR
  cedar.py remote-peer NAME COLLECT_DIR TARGET_DIR WORKING_DIR REMOTE_USER LOCAL_USER RCP_COMMAND
  cedar.py stage       CONFIG_PATH

`local-peer` and `remote-peer` build one peer and call its stagePeer, as the stage action does for
one peer; `stage` loads a cback3.conf and runs the stage action itself (indicators, daily directory,
ownership), as `cback3 stage` would after its own start-up. An empty LOCAL_USER means none (copy as
the calling user). Exits 1 if the stage action logged an error: it logs failures instead of raising.
"""
import logging
import sys


class _Errors(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.count = 0

    def emit(self, record):
        self.count += 1
        sys.stderr.write("cedar: %s\n" % record.getMessage())


def main(argv):
    errors = _Errors()
    logging.getLogger("CedarBackup3").addHandler(errors)
    logging.getLogger("CedarBackup3").setLevel(logging.ERROR)
    mode = argv[1]
    if mode == "local-peer":
        from CedarBackup3.peer import LocalPeer

        name, collect_dir, target_dir = argv[2:5]
        print(LocalPeer(name, collect_dir).stagePeer(target_dir))
    elif mode == "remote-peer":
        from CedarBackup3.peer import RemotePeer

        name, collect_dir, target_dir, working_dir, remote_user, local_user, rcp_command = argv[2:9]
        peer = RemotePeer(name, collect_dir, working_dir, remote_user, rcp_command, local_user or None)
        print(peer.stagePeer(target_dir))
    elif mode == "stage":
        from CedarBackup3.actions.stage import executeStage
        from CedarBackup3.cli import Options
        from CedarBackup3.config import Config

        config_path = argv[2]
        config = Config(xmlPath=config_path, validate=True)
        executeStage(config_path, Options(argumentList=["stage"]), config)
    else:
        sys.stderr.write("cedar.py: unknown mode %s\n" % mode)
        return 2
    return 1 if errors.count > 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
