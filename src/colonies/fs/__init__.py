"""ColonyFS on the client side: file bytes in S3 or a local directory (:mod:`.stores`), uploads and checksum-checked
downloads that register metadata with the server (:mod:`.transfer`), and directory ↔ label sync (:mod:`.sync`)."""

from .stores import ChecksumMismatch, FsError, LocalStore, S3Settings, S3Store, store_for, upload_store
from .sync import Change, SyncPlan, apply, plan, sync
from .transfer import delete_file, download_data, download_file, download_snapshot, upload_data, upload_file

__all__ = ["Change", "ChecksumMismatch", "FsError", "LocalStore", "S3Settings", "S3Store", "SyncPlan", "apply",
           "delete_file", "download_data", "download_file", "download_snapshot", "plan", "store_for", "sync",
           "upload_data", "upload_file", "upload_store"]
