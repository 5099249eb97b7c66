package dev.scry.backfill.sink;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TypeWideningTest {

    @Test
    void widerIntegersStringsAndNumericsAreFollowed() {
        assertThat(TypeWidening.isWidening("integer", "bigint")).isTrue();
        assertThat(TypeWidening.isWidening("smallint", "numeric")).isTrue();
        assertThat(TypeWidening.isWidening("character varying(10)", "character varying(40)")).isTrue();
        assertThat(TypeWidening.isWidening("character varying(10)", "text")).isTrue();
        assertThat(TypeWidening.isWidening("numeric(8,2)", "numeric(12,2)")).isTrue();
        assertThat(TypeWidening.isWidening("numeric(8,2)", "numeric")).isTrue();
        assertThat(TypeWidening.isWidening("timestamp(3) without time zone", "timestamp without time zone")).isTrue();
        assertThat(TypeWidening.isWidening("real", "double precision")).isTrue();
        assertThat(TypeWidening.isWidening("bit varying(4)", "bit varying")).isTrue();
    }

    @Test
    void changesThatCanAlterAValueAreNot() {
        assertThat(TypeWidening.isWidening("bigint", "integer")).isFalse();
        assertThat(TypeWidening.isWidening("integer", "text")).isFalse();
        assertThat(TypeWidening.isWidening("character varying(40)", "character varying(10)")).isFalse();
        assertThat(TypeWidening.isWidening("numeric(8,2)", "numeric(12,4)")).isFalse();
        assertThat(TypeWidening.isWidening("numeric", "numeric(12,2)")).isFalse();
        assertThat(TypeWidening.isWidening("timestamp without time zone", "timestamp(3) without time zone")).isFalse();
        assertThat(TypeWidening.isWidening("timestamp without time zone", "timestamp with time zone")).isFalse();
        assertThat(TypeWidening.isWidening("integer", "double precision")).isFalse();
        assertThat(TypeWidening.isWidening("integer[]", "bigint[]")).isFalse();
    }
}
