package dev.scry.backfill.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SchemaChangeTest {

    private static final String KEY = "k3y";
    private static final String BODY = "{\"tag\":\"CREATE INDEX\"}";

    @Test
    void onlyAMessageSignedWithTheInstallationsKeyIsTakenAsCaptured() {
        String signed = SchemaChange.sign(KEY, BODY) + BODY;

        assertThat(new SchemaChange(Lsn.ZERO, signed, null).body(KEY)).isEqualTo(BODY);
        assertThat(new SchemaChange(Lsn.ZERO, signed, null).body("other")).isNull();
        assertThat(new SchemaChange(Lsn.ZERO, signed.substring(0, 64) + BODY.replace("INDEX", "TABLE"), null).body(KEY)).isNull();
        assertThat(new SchemaChange(Lsn.ZERO, "0".repeat(64) + BODY, null).body(KEY)).isNull();
        assertThat(new SchemaChange(Lsn.ZERO, "short", null).body(KEY)).isNull();
        assertThat(new SchemaChange(Lsn.ZERO, signed, null).body(null)).isNull();
    }

    @Test
    void theSignatureIsTheOneTheTriggerComputesInSql() {
        // encode(sha256(convert_to('k3y' || encode(sha256(convert_to(body, 'UTF8')), 'hex'), 'UTF8')), 'hex') on PostgreSQL 15
        assertThat(SchemaChange.sign(KEY, BODY)).isEqualTo("880f0b6f9ee58010963fad439954e18bb96913f4d8556b072f0214cab26307e7");
    }
}
