package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.error.TransientException;
import dev.scry.backfill.model.ConnectionSettings;

/**
 * Connections the source stage opens, with their failures sorted once: a source that cannot be
 * reached now (refused, restarting, network) is a {@link TransientException}, retried from the
 * checkpoint; anything else (a wrong password, a missing database) a {@link PipelineFailure}.
 */
final class SourceConnection {

    private SourceConnection() {
    }

    static Connection open(ConnectionSettings source, String application) {
        return connect(source, source.jdbcProperties(application));
    }

    static Connection openReplication(ConnectionSettings source, String application) {
        return connect(source, source.replicationProperties(application));
    }

    private static Connection connect(ConnectionSettings source, Properties properties) {
        try {
            return DriverManager.getConnection(source.jdbcUrl(), properties);
        }
        catch (SQLException e) {
            String message = "cannot connect to the source " + source.describe() + ": " + SqlErrors.unresolvedHost(e)
                    .map(host -> "the host name " + host + " does not resolve; check source.host").orElse(SqlErrors.describe(e));
            throw SqlErrors.isTransient(e) ? new TransientException(message, e) : new PipelineFailure(message, e);
        }
    }
}
