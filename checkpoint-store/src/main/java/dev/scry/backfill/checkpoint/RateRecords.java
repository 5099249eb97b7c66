package dev.scry.backfill.checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * The rate limit a running pipeline applies and the rates it achieves, recorded now and then (not
 * in any batch's transaction) so that {@code status} can show them from another process.
 */
public final class RateRecords {

    /**
     * What the pipeline last recorded.
     *
     * @param reportedAt when, as the shadow prints a timestamptz
     * @param ageSeconds how long ago, by the shadow's clock
     */
    public record Rate(long rowsLimit, long bytesLimit, double rowsPerSecond, double bytesPerSecond, double throttledSeconds,
                       String reportedAt, double ageSeconds) {
    }

    private final String pipeline;

    public RateRecords(String pipeline) {
        this.pipeline = pipeline;
    }

    /** Records the rate limit and the rates achieved (autocommit, outside any batch). */
    public void write(Connection c, long rowsLimit, long bytesLimit, double rowsPerSecond, double bytesPerSecond,
                      double throttledSeconds) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.rates AS r VALUES (?, ?, ?, ?, ?, ?, clock_timestamp())
                ON CONFLICT (pipeline) DO UPDATE SET rows_limit = EXCLUDED.rows_limit, bytes_limit = EXCLUDED.bytes_limit,
                  rows_per_second = EXCLUDED.rows_per_second, bytes_per_second = EXCLUDED.bytes_per_second,
                  throttled_seconds = EXCLUDED.throttled_seconds, updated_at = EXCLUDED.updated_at""")) {
            ps.setString(1, pipeline);
            ps.setLong(2, rowsLimit);
            ps.setLong(3, bytesLimit);
            ps.setDouble(4, rowsPerSecond);
            ps.setDouble(5, bytesPerSecond);
            ps.setDouble(6, throttledSeconds);
            ps.executeUpdate();
        }
    }

    /** The last record; empty when the pipeline never recorded one or the metadata schema does not exist. */
    public Optional<Rate> read(Connection c) throws SQLException {
        if (!MetadataSchema.exists(c)) {
            return Optional.empty();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT rows_limit, bytes_limit, rows_per_second, bytes_per_second, throttled_seconds, updated_at::text,
                       extract(epoch FROM clock_timestamp() - updated_at)
                FROM scry_backfill.rates WHERE pipeline = ?""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Rate(rs.getLong(1), rs.getLong(2), rs.getDouble(3), rs.getDouble(4), rs.getDouble(5),
                        rs.getString(6), rs.getDouble(7)));
            }
        }
    }
}
