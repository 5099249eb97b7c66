package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.ColumnSpec;

/** Which column types are carried, by what their values are made of. */
class SupportedTypesTest {

    @Test
    void anyTypeWhoseTextReadsBackIsCarriedAsText() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("b", "box", false, "box", false), Set.of("box"), false)).isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("h", "hstore", false, "hstore", false), Set.of(), false)).isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("c", "comp[]", false, "comp", true), Set.of("int4", "text", "tsvector"),
                false)).isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("o", "oid", false, "oid", false), Set.of("oid"), false)).isEmpty();
    }

    @Test
    void typesNamingCatalogObjectsAreRefusedWithTheReason() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("r", "regclass", false, "regclass", false), Set.of("regclass"), false))
                .hasValueSatisfying(why -> assertThat(why).contains("type regclass cannot be carried", "OIDs of objects"));
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("a", "aclitem[]", false, "aclitem", true), Set.of("aclitem"), false))
                .hasValueSatisfying(why -> assertThat(why).contains("roles"));
    }

    @Test
    void aRefusedTypeInsideACompositeIsNamed() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("c", "pair", false, "pair", false), Set.of("int4", "regtype"), false))
                .hasValueSatisfying(why -> assertThat(why).contains("type pair (which holds regtype) cannot be carried"));
    }

    @Test
    void internalTypesWithoutInputAreRefused() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("n", "pg_node_tree", false, "pg_node_tree", false),
                Set.of("pg_node_tree"), false)).hasValueSatisfying(why -> assertThat(why).contains("accepts no value"));
    }

    @Test
    void theDebeziumReaderKeepsItsTestedTypes() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("v", "\"dom vb\"", false, "varbit", false), Set.of("varbit"), true))
                .isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("m", "cash", false, "money", false), Set.of("money"), true)).isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("p", "place", false, "point", false), Set.of("point"), true)).isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("r", "span", false, "int8range", false), Set.of("int8range"), true))
                .isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("b", "box", false, "box", false), Set.of("box"), true))
                .hasValueSatisfying(why -> assertThat(why).contains("box", "Debezium reader"));
    }

    @Test
    void timetzIsRefusedByTheDebeziumReaderButItsArraysAreCarried() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("at", "time with time zone", false, "timetz", false), Set.of("timetz"), true))
                .hasValueSatisfying(why -> assertThat(why).contains("drops its offset"));
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("at", "time with time zone[]", false, "timetz", true), Set.of("timetz"), true))
                .isEmpty();
    }

    @Test
    void timetzIsCarriedByThePgoutputReader() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("at", "time with time zone", false, "timetz", false), Set.of("timetz"), false))
                .isEmpty();
    }
}
