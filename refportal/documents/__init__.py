"""One document store for the portal: uploads checked by content, kept in a storage backend chosen by
the settings (the database, the local filesystem, or an S3-compatible object store), scanned by clamd
before anyone may open them, and served as attachments. The store knows its owner (an application)
only by id: who may read a document is decided by the slices above it."""
