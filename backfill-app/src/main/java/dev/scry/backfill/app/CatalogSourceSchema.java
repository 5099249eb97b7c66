package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.sink.SourceSchema;
import dev.scry.backfill.source.SourceCatalog;

/**
 * The sink's view of the source catalog, read over a connection of its own that is opened on the
 * first schema change and reopened after a failure. Only catalog reads; nothing is written.
 */
final class CatalogSourceSchema implements SourceSchema, AutoCloseable {

    private final ConnectionSettings source;
    private final dev.scry.backfill.transform.TransformChain chain;
    private final dev.scry.backfill.source.ChangeSources.Choice reader;
    private Connection connection;

    /** @param chain the transforms: a column the source gains is added to the shadow in the shape they give it */
    CatalogSourceSchema(ConnectionSettings source, dev.scry.backfill.transform.TransformChain chain,
                        dev.scry.backfill.source.ChangeSources.Choice reader) {
        this.source = source;
        this.chain = chain;
        this.reader = reader;
    }

    @Override
    public synchronized Optional<Shape> describe(TableId table) throws SQLException {
        try {
            return read(table);
        }
        catch (SQLException e) {
            closeQuietly();
            return read(table);
        }
    }

    private Optional<Shape> read(TableId table) throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = ConnectionFactory.open(source, "source");
        }
        SourceCatalog catalog = new SourceCatalog(connection);
        Optional<SourceCatalog.Relation> relation = catalog.relation(table);
        if (relation.isEmpty()) {
            return Optional.empty();
        }
        SourceCatalog.Description description = catalog.describe(table, relation.get());
        Map<String, String> unsupported = new LinkedHashMap<>();
        dev.scry.backfill.model.TableSpec shaped = chain.shape(description.spec());
        for (ColumnSpec column : description.spec().columns()) {
            if (shaped.column(column.name()) == null) {
                continue; // dropped by a transform: its type never reaches the shadow
            }
            reader.whyUnsupported(column, description.heldTypes(column.name()))
                    .ifPresent(why -> unsupported.put(column.name(), why));
        }
        description.generatedColumns().forEach(g -> unsupported.put(g.name(), "it is a generated column, which logical replication does not send"));
        return Optional.of(new Shape(shaped, catalog.missingValues(relation.get()), unsupported,
                catalog.typeNames(relation.get())));
    }

    private void closeQuietly() {
        try {
            if (connection != null) {
                connection.close();
            }
        }
        catch (SQLException ignored) {
            // Already broken; a new one is opened next.
        }
        connection = null;
    }

    @Override
    public synchronized void close() {
        closeQuietly();
    }
}
