package dev.scry.backfill.sink.schema;

/**
 * {@code schema:} in the configuration, validated by the loader.
 *
 * @param copyOwnership  give each object the source's owner (every owner must exist on the shadow)
 * @param copyPrivileges give each object the source's grants (every grantee must exist on the shadow)
 */
public record SchemaSettings(boolean copyOwnership, boolean copyPrivileges) {

    public static final SchemaSettings DEFAULT = new SchemaSettings(false, false);
}
