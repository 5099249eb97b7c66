package dev.scry.backfill.sink.schema;

/** A catalog row as pg_depend and pg_description name it: the catalog's OID and the row's. */
record CatalogRef(long classId, long objectId) {
}
