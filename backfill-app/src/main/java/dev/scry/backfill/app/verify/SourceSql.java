package dev.scry.backfill.app.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.transform.SourceForm;

/**
 * What the transforms' SQL forms may ask of the source (see {@link SourceForm.SqlContext}): its
 * installed extensions' functions, its encoding, and parameters, which one table's statements
 * bind in order (see {@link SqlSide}).
 */
final class SourceSql implements SourceForm.SqlContext {

    private final Map<String, Optional<String>> schemas;
    private final boolean utf8;
    private final List<String> parameters = new ArrayList<>();

    private SourceSql(Map<String, Optional<String>> schemas, boolean utf8) {
        this.schemas = schemas;
        this.utf8 = utf8;
    }

    /** Reads the source's extensions and encoding once; {@link #forTable()} gives each table its own parameters. */
    static SourceSql of(Connection source) throws SQLException {
        Map<String, Optional<String>> schemas = new HashMap<>();
        try (PreparedStatement ps = source.prepareStatement(
                "SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                schemas.put(rs.getString(1), Optional.of(rs.getString(2)));
            }
        }
        boolean utf8;
        try (Statement st = source.createStatement(); ResultSet rs = st.executeQuery("SHOW server_encoding")) {
            rs.next();
            utf8 = rs.getString(1).equalsIgnoreCase("UTF8");
        }
        return new SourceSql(schemas, utf8);
    }

    SourceSql forTable() {
        return new SourceSql(schemas, utf8);
    }

    List<String> parameters() {
        return List.copyOf(parameters);
    }

    @Override
    public Optional<String> function(String extension, String name) {
        return schemas.getOrDefault(extension, Optional.empty()).map(schema -> Identifiers.quote(schema) + "." + Identifiers.quote(name));
    }

    @Override
    public boolean utf8() {
        return utf8;
    }

    @Override
    public String parameter(String value) {
        parameters.add(value);
        return "scry_backfill_params." + Identifiers.quote(SqlSide.PARAMETER + parameters.size());
    }
}
