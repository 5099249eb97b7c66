package dev.scry.backfill.app;

import java.util.List;
import java.util.stream.Stream;

/**
 * Every table shape the pipeline carries, each with the tables it creates on the source, their
 * rows, and changes that exercise it: the source schema of {@link ShapesIT}, and of the version
 * matrix ({@link VersionMatrixIT}), which takes them all at once.
 *
 * @param tables  the tables as {@code tables} names them
 * @param ddl     statements that create and fill them on the source
 * @param changes statements that change them, one transaction each unless they say otherwise
 */
record EveryShape(List<String> tables, String[] ddl, String[] changes) {

    static final EveryShape COMPOSITE_KEYS = new EveryShape(List.of("public.single", "public.composite"),
            new String[] {
                "CREATE TABLE single (id int PRIMARY KEY, v text)",
                "CREATE TABLE composite (a text, b date, c int, v text, PRIMARY KEY (a, b, c))",
                "INSERT INTO single SELECT g, 'v' || g FROM generate_series(1, 300) g",
                "INSERT INTO composite SELECT 'k' || (g % 7), date '2024-01-01' + g, g, 'v' FROM generate_series(1, 300) g"},
            new String[] {
                "UPDATE single SET id = id + 1000 WHERE id % 3 = 0",
                "UPDATE single SET id = -id, v = 'moved' WHERE id BETWEEN 10 AND 20",
                "UPDATE composite SET b = b + 365, v = 'moved' WHERE c % 5 = 0",
                "UPDATE composite SET a = 'other' WHERE c < 30",
                // A key freed and reused in one transaction.
                "BEGIN; UPDATE single SET id = 5000 WHERE id = 1; INSERT INTO single VALUES (1, 'reused'); COMMIT",
                "DELETE FROM composite WHERE c % 4 = 0"});

    static final EveryShape KEYLESS_FULL_IDENTITY = new EveryShape(List.of("public.keyless"),
            new String[] {
                "CREATE TABLE keyless (a int, b text, doc jsonb, p xml)",
                "ALTER TABLE keyless REPLICA IDENTITY FULL",
                "INSERT INTO keyless SELECT g % 10, 'x', '{\"k\": 1}', xmlelement(name x, g) FROM generate_series(1, 100) g",
                // Exact duplicates: two rows with the same values are two rows.
                "INSERT INTO keyless VALUES (1, 'dup', NULL, NULL), (1, 'dup', NULL, NULL), (1, 'dup', NULL, NULL)"},
            new String[] {
                "DELETE FROM keyless WHERE ctid = (SELECT ctid FROM keyless WHERE b = 'dup' LIMIT 1)",
                "UPDATE keyless SET b = 'changed', doc = '{\"k\": 2}' WHERE a = 3",
                "UPDATE keyless SET a = NULL WHERE a = 4",
                "DELETE FROM keyless WHERE a = 5",
                "INSERT INTO keyless VALUES (NULL, NULL, NULL, NULL)",
                "UPDATE keyless SET b = 'from null' WHERE a IS NULL AND b IS NULL"});

    static final EveryShape IDENTITY_INDEX = new EveryShape(List.of("public.by_index"),
            new String[] {
                "CREATE TABLE by_index (code text NOT NULL, n int, v text)",
                "CREATE UNIQUE INDEX by_index_code ON by_index (code)",
                "ALTER TABLE by_index REPLICA IDENTITY USING INDEX by_index_code",
                "INSERT INTO by_index SELECT 'c' || g, g, 'v' FROM generate_series(1, 200) g"},
            new String[] {
                "UPDATE by_index SET v = 'changed' WHERE n % 2 = 0",
                "UPDATE by_index SET code = code || '!' WHERE n % 5 = 0",
                "DELETE FROM by_index WHERE n % 7 = 0"});

    static final EveryShape PARTITIONED = new EveryShape(List.of("public.measures"),
            new String[] {
                "CREATE TABLE measures (id bigint, at date, v numeric, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                "CREATE TABLE measures_2024 PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
                "CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
                "INSERT INTO measures SELECT g, date '2024-06-01' + (g % 400), g / 3.0 FROM generate_series(1, 1000) g"},
            new String[] {
                "INSERT INTO measures SELECT g, date '2025-03-01', 1 FROM generate_series(2000, 2100) g",
                "UPDATE measures SET v = v * 2 WHERE id % 3 = 0",
                // Moves rows from one partition to the other.
                "UPDATE measures SET at = at + 300 WHERE id BETWEEN 1 AND 50 AND at < '2024-09-01'",
                "DELETE FROM measures WHERE id % 10 = 0"});

    static final EveryShape QUOTED_NAMES = new EveryShape(List.of("\"Sales Dept\".\"Order \"\"Lines\"\" Items\"", "\"ÜberSchema\".\"user\""),
            new String[] {
                "CREATE SCHEMA \"Sales Dept\"",
                "CREATE TABLE \"Sales Dept\".\"Order \"\"Lines\"\" Items\" (\"Id\" int PRIMARY KEY, \"select\" text, \"a;b--c\" int,"
                        + " \"größe\" text, \"with space\" jsonb)",
                "CREATE SCHEMA \"ÜberSchema\"",
                "CREATE TABLE \"ÜberSchema\".\"user\" (\"order\" int PRIMARY KEY, \"Value\" text)",
                "INSERT INTO \"Sales Dept\".\"Order \"\"Lines\"\" Items\" SELECT g, 'sel' || g, g, 'ß' || g, '{\"a\": 1}' FROM generate_series(1, 100) g",
                "INSERT INTO \"ÜberSchema\".\"user\" SELECT g, 'v' FROM generate_series(1, 50) g"},
            new String[] {
                "UPDATE \"Sales Dept\".\"Order \"\"Lines\"\" Items\" SET \"select\" = 'x''; DROP TABLE y; --' WHERE \"Id\" % 2 = 0",
                "DELETE FROM \"Sales Dept\".\"Order \"\"Lines\"\" Items\" WHERE \"a;b--c\" % 3 = 0",
                "UPDATE \"ÜberSchema\".\"user\" SET \"order\" = \"order\" + 100, \"Value\" = 'moved' WHERE \"order\" < 10"});

    /** The large value stays in TOAST and the new row does not carry it; the whole old row does. */
    static final EveryShape KEY_CHANGE_UNDER_TOAST = new EveryShape(List.of("public.docs"),
            new String[] {
                "CREATE TABLE docs (id int PRIMARY KEY, body text)", "ALTER TABLE docs REPLICA IDENTITY FULL",
                "INSERT INTO docs SELECT g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 300) i)"
                        + " FROM generate_series(1, 5) g"},
            new String[] {"UPDATE docs SET id = id + 100 WHERE id <= 2"});

    /** Every shape above. */
    static List<EveryShape> all() {
        return List.of(COMPOSITE_KEYS, KEYLESS_FULL_IDENTITY, IDENTITY_INDEX, PARTITIONED, QUOTED_NAMES, KEY_CHANGE_UNDER_TOAST);
    }

    static List<String> allTables() {
        return all().stream().flatMap(s -> s.tables().stream()).toList();
    }

    static String[] allDdl() {
        return all().stream().flatMap(s -> Stream.of(s.ddl())).toArray(String[]::new);
    }

    static String[] allChanges() {
        return all().stream().flatMap(s -> Stream.of(s.changes())).toArray(String[]::new);
    }
}
